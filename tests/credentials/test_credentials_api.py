"""`/api/credentials`: create, read (masked), edit, share, transfer and delete, with audit."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from lightning_flows.audit.models import AuditEvent
from lightning_flows.credentials.models import ProjectCredential
from lightning_flows.projects.models import Role
from lightning_flows.workflows.models import Job
from tests import factories

SECRET = "pa55-Very-Secret-value-9f3k"
TOKEN = "tok-Very-Secret-77ab"


def _events(session: Session, credential_id) -> list[AuditEvent]:
    session.expire_all()
    return list(
        session.exec(
            select(AuditEvent)
            .where(AuditEvent.item_id == uuid.UUID(str(credential_id)))
            .order_by(AuditEvent.inserted_at)  # type: ignore[arg-type]
        ).all()
    )


def _create_http(client: TestClient, auth: dict, project_ids: list[str]) -> dict:
    response = client.post(
        "/api/credentials",
        json={
            "name": "DHIS2 production",
            "schema": "http",
            "body": {
                "username": "admin",
                "password": SECRET,
                "access_token": TOKEN,
                "baseUrl": "https://dhis2.example.org",
            },
            "production": True,
            "project_ids": project_ids,
        },
        headers=auth,
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_create_returns_the_contract_and_never_a_secret(
    client: TestClient, project, auth: dict
) -> None:
    created = _create_http(client, auth, [str(project.id)])
    assert {"id", "name", "schema", "production", "owner", "project_credentials"} <= set(created)
    assert created["schema"] == "http" and created["production"] is True
    assert [pc["project_id"] for pc in created["project_credentials"]] == [str(project.id)]
    assert created["body"]["password"] == "********"
    assert created["body"]["access_token"] == "********"
    assert created["body"]["username"] == "admin"
    for path in ("/api/credentials", f"/api/credentials/{created['id']}"):
        text = client.get(path, headers=auth).text
        assert SECRET not in text and TOKEN not in text and "********" in text


def test_blank_write_only_field_keeps_the_stored_value(
    client: TestClient, session: Session, project, auth: dict
) -> None:
    from lightning_flows.credentials.models import Credential

    created = _create_http(client, auth, [])
    unchanged = client.patch(
        f"/api/credentials/{created['id']}",
        json={"body": {**created["body"], "password": "", "baseUrl": "https://new.example.org"}},
        headers=auth,
    )
    assert unchanged.status_code == 200, unchanged.text
    session.expire_all()
    stored = session.get(Credential, uuid.UUID(created["id"]))
    assert stored.body["password"] == SECRET and stored.body["access_token"] == TOKEN
    assert stored.body["baseUrl"] == "https://new.example.org"
    changed = client.patch(
        f"/api/credentials/{created['id']}",
        json={
            "body": {
                **created["body"],
                "baseUrl": "https://new.example.org",
                "password": "brand-new-secret-1",
            },
            "name": "DHIS2",
        },
        headers=auth,
    )
    assert changed.json()["body"]["password"] == "********" and changed.json()["name"] == "DHIS2"
    session.expire_all()
    assert (
        session.get(Credential, uuid.UUID(created["id"])).body["password"] == "brand-new-secret-1"
    )
    updates = [e for e in _events(session, created["id"]) if e.event == "updated"]
    assert [e.details["body_fields"] for e in updates] == [["baseUrl"], ["password"]]
    assert updates[1].changes == {
        "before": {"name": "DHIS2 production"},
        "after": {"name": "DHIS2"},
    }
    for event in updates:
        assert SECRET not in str(event.model_dump()) and "brand-new" not in str(event.model_dump())


def test_schema_validation_errors_are_field_level(client: TestClient, auth: dict) -> None:
    bad = client.post(
        "/api/credentials",
        json={"name": "x", "schema": "http", "body": {"username": 7, "baseUrl": ""}},
        headers=auth,
    )
    assert bad.status_code == 422
    locs = {tuple(e["loc"]) for e in bad.json()["errors"]}
    assert ("body", "username") in locs and ("body", "baseUrl") in locs
    assert "username" in bad.json()["detail"]
    oauth = client.post(
        "/api/credentials",
        json={"name": "x", "schema": "oauth", "body": {"clientSecret": SECRET}},
        headers=auth,
    )
    assert oauth.status_code == 422
    assert ("body", "clientId") in {tuple(e["loc"]) for e in oauth.json()["errors"]}
    assert SECRET not in oauth.text
    no_schema = client.post(
        "/api/credentials", json={"name": "x", "schema": "common", "body": {}}, headers=auth
    )
    assert no_schema.status_code == 422 and "use 'raw'" in no_schema.json()["detail"]
    nonsense = client.post(
        "/api/credentials", json={"name": "x", "schema": "Not Valid!", "body": {}}, headers=auth
    )
    assert nonsense.status_code == 422 and nonsense.json()["errors"][0]["loc"] == ["schema"]
    not_object = client.post("/api/credentials", json={"name": "x", "body": ["a"]}, headers=auth)
    assert not_object.status_code == 422


def test_raw_bodies_hide_every_value_but_non_secret_keys(client: TestClient, auth: dict) -> None:
    created = client.post(
        "/api/credentials",
        json={"name": "raw", "body": {"host": "db.example.org", "user": "me", "pin": SECRET}},
        headers=auth,
    ).json()
    assert created["body"] == {"host": "db.example.org", "user": "me", "pin": "********"}


def test_duplicate_names_conflict(client: TestClient, auth: dict) -> None:
    assert client.post("/api/credentials", json={"name": "a"}, headers=auth).status_code == 201
    dup = client.post("/api/credentials", json={"name": "a"}, headers=auth)
    assert dup.status_code == 409 and "already have a credential named 'a'" in dup.json()["detail"]


def test_sharing_needs_editor_rights_in_the_project(
    client: TestClient, session: Session, user, auth: dict
) -> None:
    other_owner = factories.make_user(session)
    viewed = factories.make_project(session, owner=other_owner)
    factories.add_member(session, viewed, user, Role.VIEWER)
    foreign = factories.make_project(session, owner=other_owner)
    refused = client.post(
        "/api/credentials",
        json={"name": "c", "project_ids": [str(viewed.id)]},
        headers=auth,
    )
    assert refused.status_code == 403 and "viewer" in refused.json()["detail"]
    hidden = client.post(
        "/api/credentials", json={"name": "c", "project_ids": [str(foreign.id)]}, headers=auth
    )
    assert hidden.status_code == 404
    assert client.get("/api/credentials", headers=auth).json() == []  # nothing half-created


def test_unsharing_takes_the_credential_from_jobs_and_audits_it(
    client: TestClient, session: Session, project, auth: dict
) -> None:
    created = _create_http(client, auth, [str(project.id)])
    link_id = created["project_credentials"][0]["id"]
    doc = factories.workflow_doc(jobs=["a"])
    doc.jobs[0].project_credential_id = uuid.UUID(link_id)
    workflow = factories.make_workflow(session, project, doc)
    response = client.patch(
        f"/api/credentials/{created['id']}", json={"project_ids": []}, headers=auth
    )
    assert response.status_code == 200 and response.json()["project_credentials"] == []
    session.expire_all()
    assert session.get(Job, workflow.jobs[0].id).project_credential_id is None
    events = {e.event: e for e in _events(session, created["id"])}
    assert set(events) == {"created", "added_to_project", "removed_from_project"}
    removed = events["removed_from_project"]
    assert removed.details["jobs_losing_credential"] == [str(workflow.jobs[0].id)]
    assert removed.project_id == project.id


def test_only_the_owner_or_a_superuser_sees_a_credential(
    client: TestClient, session: Session, project, auth: dict
) -> None:
    created = _create_http(client, auth, [str(project.id)])
    stranger = factories.auth_headers(session, factories.make_user(session))
    for method in ("get", "patch", "delete"):
        kwargs = {"json": {}} if method == "patch" else {}
        response = getattr(client, method)(
            f"/api/credentials/{created['id']}", headers=stranger, **kwargs
        )
        assert response.status_code == 404
    admin = factories.auth_headers(session, factories.make_user(session, superuser=True))
    assert client.get(f"/api/credentials/{created['id']}", headers=admin).status_code == 200


def test_project_members_list_shared_credentials_without_bodies(
    client: TestClient, session: Session, project, auth: dict
) -> None:
    created = _create_http(client, auth, [str(project.id)])
    viewer = factories.make_user(session)
    factories.add_member(session, project, viewer, Role.VIEWER)
    listed = client.get(
        f"/api/projects/{project.id}/credentials", headers=factories.auth_headers(session, viewer)
    )
    assert listed.status_code == 200
    [item] = listed.json()
    assert item["id"] == created["project_credentials"][0]["id"] and item["schema"] == "http"
    assert "body" not in item and SECRET not in listed.text


def test_transfer_requires_membership_of_every_project_using_it(
    client: TestClient, session: Session, user, project, auth: dict
) -> None:
    created = _create_http(client, auth, [str(project.id)])
    receiver = factories.make_user(session)
    path = f"/api/credentials/{created['id']}/transfer"
    refused = client.post(path, json={"email": receiver.email}, headers=auth)
    assert refused.status_code == 422 and project.name in refused.json()["detail"]
    unknown = client.post(path, json={"email": "nobody@example.org"}, headers=auth)
    assert unknown.status_code == 422
    invalid = client.post(path, json={"email": "not-an-email"}, headers=auth)
    assert invalid.status_code == 422
    factories.add_member(session, project, receiver, Role.VIEWER)
    moved = client.post(path, json={"email": receiver.email.upper()}, headers=auth)
    assert moved.status_code == 200, moved.text
    assert moved.json()["owner"] == {"id": str(receiver.id), "email": receiver.email}
    assert client.get(f"/api/credentials/{created['id']}", headers=auth).status_code == 404
    receiver_headers = factories.auth_headers(session, receiver)
    assert client.get("/api/credentials", headers=receiver_headers).json()[0]["id"] == created["id"]
    [event] = [e for e in _events(session, created["id"]) if e.event == "transferred"]
    assert event.changes == {
        "before": {"owner_id": str(user.id)},
        "after": {"owner_id": str(receiver.id)},
    }


def test_delete_removes_links_and_audits(
    client: TestClient, session: Session, project, auth: dict
) -> None:
    created = _create_http(client, auth, [str(project.id)])
    assert client.delete(f"/api/credentials/{created['id']}", headers=auth).status_code == 204
    assert client.get(f"/api/credentials/{created['id']}", headers=auth).status_code == 404
    session.expire_all()
    assert session.exec(select(ProjectCredential)).all() == []
    events = [e.event for e in _events(session, created["id"])]
    assert events[-2:] == ["removed_from_project", "deleted"]
