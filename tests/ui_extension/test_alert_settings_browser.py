"""In a real browser: a member chooses failure alerts for one workflow and a daily digest
in the project settings; an admin sets the alert webhook and never sees its token again."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from lightning_flows.projects.models import Project, ProjectUser, Role
from tests import factories
from tests.ui_extension.builder.conftest import (  # noqa: F401  (fixtures)
    SCREENSHOTS,
    base_url,
    browser,
    page,
    sign_in,
)


def _row(session: Session, project: Project, user: factories.User) -> ProjectUser:
    session.expire_all()
    return session.exec(
        select(ProjectUser).where(
            ProjectUser.project_id == project.id, ProjectUser.user_id == user.id
        )
    ).one()


def test_a_member_chooses_alerts_and_an_admin_sets_the_webhook(
    page: Any,  # noqa: F811  (the browser tab fixture imported above)
    session: Session,
    project: Project,
    user: factories.User,
) -> None:
    intake = factories.make_workflow(session, project, name="Intake")
    factories.make_workflow(session, project, name="Sync to DHIS2")
    viewer = factories.make_user(session)
    factories.add_member(session, project, viewer, Role.VIEWER)

    sign_in(page, viewer)
    page.goto(f"/projects/{project.id}/settings#alerts")
    section = page.locator("#alerts")
    assert section.get_by_label("Email me when a run fails").is_checked()
    assert section.get_by_label("Replace the URL").count() == 0
    section.get_by_label("Only for these workflows:").check()
    section.get_by_label("Intake").check()
    section.get_by_label("Digest of runs, failures and top errors").select_option("daily")
    section.get_by_role("button", name="Save my alerts").click()
    page.wait_for_url("**done=alerts_saved*")
    assert page.get_by_text("Your alert settings were saved.").is_visible()
    assert page.locator("#alerts").get_by_label("Intake").is_checked()
    assert not page.locator("#alerts").get_by_label("Sync to DHIS2").is_checked()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#alerts").screenshot(path=str(SCREENSHOTS / "alert-settings.png"))
    row = _row(session, project, viewer)
    assert row.failure_alert_workflow_ids == [str(intake.id)] and row.digest == "daily"

    page.context.clear_cookies()
    sign_in(page, user)  # the owner
    page.goto(f"/projects/{project.id}/settings#alerts")
    page.get_by_label("URL that receives each alert").fill("https://chat.example.org/hook/T0K3N")
    page.get_by_role("button", name="Save webhook").click()
    page.wait_for_url("**done=alert_webhook_saved*")
    status = page.locator("#alert-webhook-status").inner_text()
    assert "https://chat.example.org/…" in status
    assert "T0K3N" not in page.content()
