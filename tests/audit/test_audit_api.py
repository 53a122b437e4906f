"""`GET /api/audit`: who sees which events, and the filters."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session

from lightning_flows.projects.models import Role
from tests import factories
from tests.support.web import sign_in


def test_members_see_their_projects_and_superusers_see_everything(
    client: TestClient, session: Session, user, project, auth
) -> None:
    viewer = factories.make_user(session)
    factories.add_member(session, project, viewer, Role.VIEWER)
    workflow = factories.make_workflow(session, project, jobs=["a"])
    elsewhere = factories.make_project(session)  # another owner, another project
    viewer_headers = factories.auth_headers(session, viewer)

    seen = client.get("/api/audit", params={"page_size": 100}, headers=viewer_headers).json()
    projects = {e["project_id"] for e in seen["items"]}
    assert str(project.id) in projects and str(elsewhere.id) not in projects
    kinds = {(e["item_type"], e["event"]) for e in seen["items"]}
    assert ("workflow", "created") in kinds and ("project", "created") in kinds

    only_workflow = client.get(
        "/api/audit",
        params={"item_type": "workflow", "item_id": str(workflow.id)},
        headers=viewer_headers,
    ).json()
    assert only_workflow["total"] == 1
    assert only_workflow["items"][0]["project_id"] == str(project.id)

    admin = factories.auth_headers(session, factories.make_user(session, superuser=True))
    everything = client.get("/api/audit", params={"page_size": 100}, headers=admin).json()
    assert str(elsewhere.id) in {e["project_id"] for e in everything["items"]}
    assert client.get("/api/audit", params={"item_id": "nope"}, headers=admin).status_code == 422


def test_login_failures_are_visible_to_the_account_owner(
    client: TestClient, session: Session, user, auth
) -> None:
    sign_in(client, user.email, "a wrong password")
    mine = client.get("/api/audit", params={"event": "login_failed"}, headers=auth).json()
    assert mine["total"] == 1 and mine["items"][0]["item_id"] == str(user.id)
    stranger = factories.auth_headers(session, factories.make_user(session))
    theirs = client.get("/api/audit", params={"event": "login_failed"}, headers=stranger).json()
    assert theirs["total"] == 0


def test_credential_events_follow_the_owner(
    client: TestClient, session: Session, user, project, auth
) -> None:
    credential = factories.make_owned_credential(
        session, user, {"password": "x"}, projects=(project,)
    )
    events = client.get(
        "/api/audit",
        params={"item_type": "credential", "item_id": str(credential.id)},
        headers=auth,
    ).json()
    assert [e["event"] for e in events["items"]] == ["added_to_project", "created"] or {
        e["event"] for e in events["items"]
    } == {"added_to_project", "created"}
    outsider = factories.auth_headers(session, factories.make_user(session))
    hidden = client.get(
        "/api/audit", params={"item_id": str(credential.id)}, headers=outsider
    ).json()
    assert hidden["total"] == 0


def test_webhook_auth_and_membership_changes_are_audited(
    client: TestClient, session: Session, user, project, auth
) -> None:
    other = factories.make_user(session)
    client.post(
        f"/api/projects/{project.id}/users",
        json={"email": other.email, "role": "viewer"},
        headers=auth,
    )
    client.post(
        f"/api/projects/{project.id}/webhook_auth_methods",
        json={"name": "partner", "auth_type": "api", "api_key": "k" * 32},
        headers=auth,
    )
    page = client.get(
        "/api/audit", params={"project_id": str(project.id), "page_size": 100}, headers=auth
    ).json()
    kinds = {(e["item_type"], e["event"]) for e in page["items"]}
    assert ("project", "member_added") in kinds
    assert ("webhook_auth_method", "created") in kinds
    assert "k" * 32 not in str(page)
