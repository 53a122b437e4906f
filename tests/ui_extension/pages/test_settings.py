"""Project settings: read-only for viewers, general/retention/MFA/concurrency, members,
webhook auth methods and triggers, deletion."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from lightning_flows.credentials.models import TriggerWebhookAuthMethod, WebhookAuthMethod
from lightning_flows.projects.models import Project, ProjectUser, Role
from tests import factories
from tests.ui_extension.pages.conftest import SignIn, alerts, post_form

SETTINGS = {
    "name": "Child protection",
    "description": "cases",
    "retention_policy": "retain_with_errors",
    "history_retention_days": "90",
    "dataclip_retention_days": "",
    "concurrency": "3",
}


def _url(project: Project, suffix: str = "") -> str:
    return f"/projects/{project.id}/settings{suffix}"


def test_owner_saves_retention_mfa_and_concurrency(
    page: TestClient, session: Session, project: Project
) -> None:
    response = post_form(page, _url(project), SETTINGS)
    assert response.status_code == 303
    session.refresh(project)
    assert (project.name, project.retention_policy, project.history_retention_days) == (
        "Child protection",
        "retain_with_errors",
        90,
    )
    assert project.dataclip_retention_days is None
    assert not project.requires_mfa and project.concurrency == 3
    html = page.get(response.headers["location"]).text
    assert "Settings saved." in html and 'value="retain_with_errors" selected' in html


def test_requiring_mfa_locks_out_members_without_it(page: TestClient, session, project) -> None:
    response = post_form(page, _url(project), {**SETTINGS, "requires_mfa": "on"})
    assert response.status_code == 303
    session.refresh(project)
    assert project.requires_mfa
    refused = page.get(_url(project))
    assert refused.status_code == 403 and "requires multi-factor authentication" in refused.text


def test_bad_numbers_are_refused_with_a_message(page: TestClient, session, project) -> None:
    response = post_form(page, _url(project), {**SETTINGS, "concurrency": "many"})
    assert response.status_code == 422
    assert "Concurrency: enter a whole number" in " ".join(alerts(response.text))
    response = post_form(page, _url(project), {**SETTINGS, "concurrency": "0"})
    assert response.status_code == 422
    session.refresh(project)
    assert project.concurrency is None


def test_viewer_sees_settings_without_controls_and_posts_are_refused(
    sign_in_as: SignIn, session: Session, project: Project, viewer
) -> None:
    client = sign_in_as(viewer)
    html = client.get(_url(project)).text
    assert 'id="read-only-note"' in html and "<fieldset disabled>" in html
    for control in (
        "save-settings",
        "Add member",
        "Create auth method",
        "preview-import",
        "Delete project",
        "Change role",
    ):
        assert control not in html
    for suffix, data in (
        ("", SETTINGS),
        ("/members", {"email": viewer.email, "role": "owner"}),
        ("/webhook_auth", {"name": "k", "auth_type": "api"}),
        ("/delete", {"confirm_name": project.name}),
    ):
        assert post_form(client, _url(project, suffix), data).status_code == 403, suffix
    session.refresh(project)
    assert project.name != "Child protection"


def test_members_are_added_changed_and_removed(page: TestClient, session: Session, project) -> None:
    newcomer = factories.make_user(session)
    added = post_form(page, _url(project, "/members"), {"email": newcomer.email, "role": "viewer"})
    assert added.status_code == 303
    changed = post_form(page, _url(project, f"/members/{newcomer.id}"), {"role": "admin"})
    assert changed.status_code == 303
    member = session.exec(select(ProjectUser).where(ProjectUser.user_id == newcomer.id)).one()
    assert member.role == "admin"
    html = page.get(_url(project)).text
    assert newcomer.email in html and "Role changed." not in html
    removed = post_form(page, _url(project, f"/members/{newcomer.id}/remove"), {})
    assert removed.status_code == 303
    session.expire_all()
    assert (
        session.exec(select(ProjectUser).where(ProjectUser.user_id == newcomer.id)).first() is None
    )


def test_member_errors_are_shown(page: TestClient, user, project) -> None:
    unknown = post_form(
        page, _url(project, "/members"), {"email": "ghost@example.org", "role": "viewer"}
    )
    assert unknown.status_code == 422 and "No user with email" in " ".join(alerts(unknown.text))
    last_owner = post_form(page, _url(project, f"/members/{user.id}"), {"role": "viewer"})
    assert last_owner.status_code == 409 and "at least one owner" in last_owner.text


def test_webhook_auth_method_secret_is_shown_once_and_required_by_a_trigger(
    page: TestClient, session: Session, project
) -> None:
    workflow = factories.make_workflow(session, project, name="intake", jobs=["a"])
    created = post_form(
        page,
        _url(project, "/webhook_auth"),
        {"name": "partner", "auth_type": "api", "api_key": "k" * 24},
    )
    assert (
        created.status_code == 200
        and f'<code class="secret" id="new-secret">{"k" * 24}</code>' in created.text
    )
    assert "k" * 24 not in page.get(_url(project)).text
    method = session.exec(select(WebhookAuthMethod)).one()
    trigger_id = workflow.triggers[0].id
    assert f"/i/{trigger_id}" in created.text
    saved = post_form(
        page, _url(project, f"/triggers/{trigger_id}/auth"), {"method_ids": str(method.id)}
    )
    assert saved.status_code == 303
    link = session.exec(select(TriggerWebhookAuthMethod)).one()
    assert (link.trigger_id, link.webhook_auth_method_id) == (trigger_id, method.id)
    deleted = post_form(page, _url(project, f"/webhook_auth/{method.id}/delete"), {})
    assert deleted.status_code == 303
    session.expire_all()
    assert session.exec(select(WebhookAuthMethod)).first() is None


def test_basic_auth_needs_a_password(page: TestClient, project) -> None:
    response = post_form(
        page, _url(project, "/webhook_auth"), {"name": "b", "auth_type": "basic", "username": "u"}
    )
    assert (
        response.status_code == 422
        and "basic auth needs a username and a password" in response.text
    )


@pytest.mark.parametrize("typed", ["wrong name", ""])
def test_deleting_a_project_needs_its_name(page: TestClient, session, project, typed) -> None:
    response = post_form(page, _url(project, "/delete"), {"confirm_name": typed})
    assert response.status_code == 422
    assert session.get(Project, project.id) is not None


def test_owner_deletes_a_project(page: TestClient, session: Session, project) -> None:
    response = post_form(page, _url(project, "/delete"), {"confirm_name": project.name})
    assert response.status_code == 303 and response.headers["location"] == "/projects"
    session.expunge_all()
    assert session.exec(select(Project).where(Project.id == project.id)).first() is None


def test_settings_posts_need_a_csrf_token(page: TestClient, session, project) -> None:
    response = page.post(_url(project), data=SETTINGS, follow_redirects=False)
    assert response.status_code == 403
    session.refresh(project)
    assert project.name != "Child protection"


def test_the_owner_transfers_ownership_on_the_settings_page(
    page: TestClient, session: Session, user, project
) -> None:
    heir = factories.make_user(session)
    factories.add_member(session, project, heir, Role.EDITOR)
    html = page.get(_url(project)).text
    assert "Transfer ownership" in html and "<option>owner</option>" not in html
    moved = post_form(page, _url(project, "/owner"), {"user_id": str(heir.id)})
    assert moved.status_code == 303
    session.expire_all()
    roles = {m.user_id: m.role for m in session.exec(select(ProjectUser)).all()}
    assert roles == {heir.id: "owner", user.id: "admin"}
    html = page.get(_url(project)).text
    assert "Transfer ownership" not in html  # an admin now
    refused = post_form(page, _url(project, f"/members/{heir.id}"), {"role": "viewer"})
    assert refused.status_code == 409 and "at least one owner" in refused.text
