"""The settings page's limits form: admins lower per-step limits, superusers set usage."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session

from lightning_flows.projects.models import Project
from tests import factories
from tests.ui_extension.pages.conftest import SignIn, alerts, post_form


def _url(project: Project) -> str:
    return f"/projects/{project.id}/settings/limits"


def test_an_owner_lowers_step_limits_but_not_usage_limits(
    page: TestClient, session: Session, project: Project
) -> None:
    form = {"step_timeout_seconds": "20", "run_limit_per_month": "5"}
    response = post_form(page, _url(project), form)
    assert response.status_code == 303
    session.refresh(project)
    assert project.step_timeout_seconds == 20
    assert project.run_limit_per_month is None, "a superuser's setting"
    html = page.get(f"/projects/{project.id}/settings").text
    assert 'id="step_timeout_seconds"' in html and 'value="20"' in html

    too_long = post_form(page, _url(project), {"step_timeout_seconds": "999999"})
    assert too_long.status_code == 422
    assert "step_timeout_seconds may be at most" in " ".join(alerts(too_long.text))


def test_a_superuser_sets_usage_limits(
    sign_in_as: SignIn, session: Session, project: Project
) -> None:
    root = sign_in_as(factories.make_user(session, superuser=True))
    response = post_form(
        root, _url(project), {"run_limit_per_month": "100", "max_concurrent_runs": "2"}
    )
    assert response.status_code == 303
    session.refresh(project)
    assert (project.run_limit_per_month, project.max_concurrent_runs) == (100, 2)
