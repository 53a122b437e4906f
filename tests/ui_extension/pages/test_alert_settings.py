"""The settings page's alerts section: each member's own alerts and digest, the
project's alert webhook (admins)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session

from lightning_flows.projects.models import Project, ProjectUser
from tests import factories
from tests.ui_extension.pages.conftest import SignIn, alerts, post_form


def _membership(session: Session, project: Project, user) -> ProjectUser:
    session.expire_all()
    return session.exec(
        ProjectUser.__table__.select().where(  # type: ignore[attr-defined]
            ProjectUser.project_id == project.id, ProjectUser.user_id == user.id
        )
    ).one()


def test_a_viewer_chooses_workflows_and_a_digest(
    sign_in_as: SignIn, session: Session, project: Project, viewer
) -> None:
    first = factories.make_workflow(session, project, name="first")
    factories.make_workflow(session, project, name="second")
    tab = sign_in_as(viewer)
    html = tab.get(f"/projects/{project.id}/settings").text
    assert 'id="alerts-form"' in html and "first" in html and "second" in html
    assert 'id="alert_webhook_url"' not in html, "only admins set the webhook"

    url = f"/projects/{project.id}/settings/alerts"
    form = {
        "failure_alert": "on",
        "scope": "some",
        "workflow_ids": [str(first.id)],
        "digest": "daily",
    }
    saved = post_form(tab, url, form)
    assert saved.status_code == 303
    row = _membership(session, project, viewer)
    assert row.failure_alert and row.failure_alert_workflow_ids == [str(first.id)]
    assert row.digest == "daily"
    html = tab.get(f"/projects/{project.id}/settings?done=alerts_saved").text
    assert "Your alert settings were saved." in html
    assert f'value="{first.id}" checked' in html

    post_form(tab, url, {"scope": "all", "digest": "never"})
    row = _membership(session, project, viewer)
    assert (row.failure_alert, row.failure_alert_workflow_ids, row.digest) == (False, None, "never")

    nothing = post_form(tab, url, {"failure_alert": "on", "scope": "some", "digest": "weekly"})
    assert nothing.status_code == 422
    assert "choose at least one workflow" in " ".join(alerts(nothing.text))


def test_an_admin_sets_and_removes_the_alert_webhook(
    page: TestClient, session: Session, project: Project
) -> None:
    url = f"/projects/{project.id}/settings/alert_webhook"
    bad = post_form(page, url, {"url": "chat.example.org/hook"})
    assert bad.status_code == 422 and "http://" in " ".join(alerts(bad.text))
    assert post_form(page, url, {"url": "https://chat.example.org/hook/T0K3N"}).status_code == 303
    html = page.get(f"/projects/{project.id}/settings").text
    assert "posted as JSON to https://chat.example.org/…" in html and "T0K3N" not in html
    assert post_form(page, f"{url}/delete", {}).status_code == 303
    assert "No alert webhook" in page.get(f"/projects/{project.id}/settings").text


def test_an_editor_cannot_set_the_webhook(
    sign_in_as: SignIn, session: Session, project: Project, editor
) -> None:
    tab = sign_in_as(editor)
    answer = post_form(
        tab, f"/projects/{project.id}/settings/alert_webhook", {"url": "https://x.org"}
    )
    assert answer.status_code == 403
