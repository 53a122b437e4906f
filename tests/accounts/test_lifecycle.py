"""Disabling and deleting accounts: sessions and tokens stop, deletion purges credentials."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from lightning_flows.accounts.models import ApiToken, User, UserSession
from lightning_flows.audit.models import AuditEvent
from lightning_flows.credentials.models import Credential, ProjectCredential
from lightning_flows.projects.models import Role
from lightning_flows.workflows.models import Job
from tests import factories
from tests.support.web import sign_in


def test_disable_stops_tokens_and_sessions(client: TestClient, session: Session, user) -> None:
    admin = factories.make_user(session, superuser=True)
    admin_headers = factories.auth_headers(session, admin)
    headers = factories.auth_headers(session, user)
    sign_in(client, user.email, factories.PASSWORD)
    response = client.patch(f"/api/users/{user.id}", json={"disabled": True}, headers=admin_headers)
    assert response.status_code == 200 and response.json()["disabled"] is True
    assert client.get("/profile", follow_redirects=False).status_code == 303
    assert client.get("/api/users/me", headers=headers).status_code == 401
    assert session.exec(select(UserSession)).all() == []
    refused = sign_in(client, user.email, factories.PASSWORD)
    assert refused.status_code == 403 and "disabled" in refused.text
    self_disable = client.patch(
        f"/api/users/{admin.id}", json={"disabled": True}, headers=admin_headers
    )
    assert self_disable.status_code == 409
    events = {
        e.event for e in session.exec(select(AuditEvent).where(AuditEvent.item_id == user.id))
    }
    assert {"disabled", "login_failed"} <= events


def test_delete_purges_credentials_and_jobs_lose_them(
    client: TestClient, session: Session, user
) -> None:
    owner = factories.make_user(session)
    project = factories.make_project(session, owner=owner)
    factories.add_member(session, project, user, Role.EDITOR)
    credential = factories.make_owned_credential(
        session, user, {"password": "s3cret"}, projects=(project,)
    )
    link = session.exec(factories.select_links(credential.id)).one()
    doc = factories.workflow_doc(jobs=["a"])
    doc.jobs[0].project_credential_id = link.id
    workflow = factories.make_workflow(session, project, doc)
    headers = factories.auth_headers(session, user)
    user_id, email, credential_id = user.id, user.email, credential.id

    admin = factories.auth_headers(session, factories.make_user(session, superuser=True))
    assert client.delete(f"/api/users/{user_id}", headers=admin).status_code == 204
    session.expire_all()
    assert session.get(User, user_id) is None
    assert session.exec(select(Credential)).all() == []
    assert session.exec(select(ProjectCredential)).all() == []
    assert session.exec(select(ApiToken).where(ApiToken.user_id == user_id)).all() == []
    assert session.get(Job, workflow.jobs[0].id).project_credential_id is None
    assert client.get("/api/users/me", headers=headers).status_code == 401
    trail = {
        e.event: e
        for e in session.exec(select(AuditEvent).where(AuditEvent.item_id == credential_id))
    }
    assert trail["deleted"].details == {"reason": "owner_deleted"}
    assert trail["removed_from_project"].details["jobs_losing_credential"] == [
        str(workflow.jobs[0].id)
    ]
    [deleted] = session.exec(
        select(AuditEvent).where(AuditEvent.item_id == user_id, AuditEvent.event == "deleted")
    ).all()
    assert deleted.details == {"credentials_purged": 1}
    assert email not in str(deleted.model_dump())


def test_a_project_s_only_owner_cannot_be_deleted(
    client: TestClient, session: Session, user, auth
) -> None:
    project = factories.make_project(session, owner=user, name="Vaccination")
    response = client.delete(f"/api/users/{user.id}", headers=auth)
    assert response.status_code == 409 and "Vaccination" in response.json()["detail"]
    other = factories.auth_headers(session, factories.make_user(session))
    assert client.delete(f"/api/users/{user.id}", headers=other).status_code == 403
    second = factories.make_user(session)
    factories.add_member(session, project, second, Role.OWNER)
    assert client.delete(f"/api/users/{user.id}", headers=auth).status_code == 204
