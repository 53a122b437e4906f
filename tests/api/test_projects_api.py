"""Projects and members over the API, with role checks."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session

from lightning_flows.projects.models import Role
from tests import factories


def test_health_checks_the_database(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


def test_create_list_update_delete(client: TestClient, auth: dict) -> None:
    created = client.post("/api/projects", json={"name": "Malaria surveillance"}, headers=auth)
    assert created.status_code == 201
    project = created.json()
    assert project["retention_policy"] == "retain_all"
    listed = client.get("/api/projects?page=1&page_size=10", headers=auth).json()
    assert listed["total"] == 1 and listed["items"][0]["name"] == "Malaria surveillance"
    patched = client.patch(
        f"/api/projects/{project['id']}",
        json={"retention_policy": "erase_all", "concurrency": 2},
        headers=auth,
    )
    assert patched.status_code == 200
    assert (patched.json()["retention_policy"], patched.json()["concurrency"]) == ("erase_all", 2)
    assert client.delete(f"/api/projects/{project['id']}", headers=auth).status_code == 204
    assert client.get(f"/api/projects/{project['id']}", headers=auth).status_code == 404


def test_invalid_project_fields_are_422(client: TestClient, auth: dict) -> None:
    response = client.post(
        "/api/projects", json={"name": "", "retention_policy": "forever"}, headers=auth
    )
    assert response.status_code == 422
    fields = {tuple(e["loc"])[-1] for e in response.json()["detail"]}
    assert {"name", "retention_policy"} <= fields


def test_pagination_pages_and_totals(client: TestClient, session: Session, user, auth) -> None:
    for i in range(5):
        factories.make_project(session, owner=user, name=f"p{i}")
    page = client.get("/api/projects?page=2&page_size=2", headers=auth).json()
    assert (page["total"], page["page"], [p["name"] for p in page["items"]]) == (5, 2, ["p2", "p3"])
    assert client.get("/api/projects?page=0", headers=auth).status_code == 422


def test_members_are_managed_by_admins_only(
    client: TestClient, session: Session, project, auth
) -> None:
    viewer = factories.make_user(session)
    added = client.post(
        f"/api/projects/{project.id}/users",
        json={"email": viewer.email, "role": "viewer"},
        headers=auth,
    )
    assert added.status_code == 201, added.text
    dup = client.post(
        f"/api/projects/{project.id}/users", json={"email": viewer.email}, headers=auth
    )
    assert dup.status_code == 409
    unknown = client.post(
        f"/api/projects/{project.id}/users", json={"email": "nobody@example.org"}, headers=auth
    )
    assert unknown.status_code == 422 and "must have an account" in unknown.json()["detail"]

    viewer_headers = factories.auth_headers(session, viewer)
    members = client.get(f"/api/projects/{project.id}/users", headers=viewer_headers)
    assert members.status_code == 200 and len(members.json()) == 2
    refused = client.patch(
        f"/api/projects/{project.id}/users/{viewer.id}",
        json={"role": "admin"},
        headers=viewer_headers,
    )
    assert refused.status_code == 403 and "viewer" in refused.json()["detail"]
    promoted = client.patch(
        f"/api/projects/{project.id}/users/{viewer.id}", json={"role": "editor"}, headers=auth
    )
    assert promoted.json()["role"] == "editor"
    assert (
        client.delete(f"/api/projects/{project.id}/users/{viewer.id}", headers=auth).status_code
        == 204
    )


def test_last_owner_cannot_leave(client: TestClient, project, user, auth) -> None:
    response = client.delete(f"/api/projects/{project.id}/users/{user.id}", headers=auth)
    assert response.status_code == 409 and "at least one owner" in response.json()["detail"]


def test_superuser_sees_every_project(client: TestClient, session: Session, project) -> None:
    admin = factories.make_user(session, superuser=True)
    headers = factories.auth_headers(session, admin)
    assert client.get("/api/projects", headers=headers).json()["total"] == 1
    assert client.get(f"/api/projects/{project.id}", headers=headers).status_code == 200


def test_editor_cannot_delete_project(client: TestClient, session: Session, project) -> None:
    editor = factories.make_user(session)
    factories.add_member(session, project, editor, Role.EDITOR)
    headers = factories.auth_headers(session, editor)
    assert client.delete(f"/api/projects/{project.id}", headers=headers).status_code == 403
