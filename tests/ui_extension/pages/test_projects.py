"""The projects list, creating a project, and the project dashboard."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from lightning_flows.core.timeutil import utcnow
from lightning_flows.projects.models import Project, ProjectUser
from tests import factories
from tests.runs.test_queries import save
from tests.ui_extension.pages.conftest import SignIn, post_form


def test_anonymous_visitors_are_sent_to_sign_in(client: TestClient) -> None:
    for path in ("/", "/projects"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")


def test_projects_list_shows_only_the_users_projects(
    page: TestClient, session: Session, project: Project
) -> None:
    other = factories.make_project(session, name="someone else's")
    html = page.get("/projects").text
    assert project.name in html and "owner" in html
    assert other.name not in html
    assert page.get("/", follow_redirects=False).headers["location"] == "/projects"


def test_superuser_sees_every_project(sign_in_as: SignIn, session: Session, project) -> None:
    admin = factories.make_user(session, superuser=True)
    assert project.name in sign_in_as(admin).get("/projects").text


def test_create_project_makes_the_user_its_owner(page: TestClient, session: Session, user) -> None:
    response = post_form(page, "/projects", {"name": "Farmers", "description": "savings"})
    assert response.status_code == 303
    created = session.exec(select(Project).where(Project.name == "Farmers")).one()
    assert response.headers["location"] == f"/projects/{created.id}"
    owner = session.exec(select(ProjectUser).where(ProjectUser.project_id == created.id)).one()
    assert (owner.user_id, owner.role) == (user.id, "owner")


def test_create_project_needs_a_name_and_a_csrf_token(page: TestClient, session: Session) -> None:
    blank = post_form(page, "/projects", {"name": "   "})
    assert blank.status_code == 422 and "Give the project a name" in blank.text
    forged = page.post("/projects", data={"name": "x"}, follow_redirects=False)
    assert forged.status_code == 403 and "CSRF" in forged.text
    assert forged.headers["content-type"].startswith("text/html")
    assert session.exec(select(Project).where(Project.name == "x")).first() is None


def test_dashboard_counts_work_orders_and_runs_of_the_period(
    page: TestClient, session: Session, project: Project
) -> None:
    intake = factories.make_workflow(session, project, name="intake", jobs=["a"])
    factories.make_workflow(session, project, name="quiet", jobs=["a"])
    for state in ("success", "success", "failed"):
        enqueued = factories.make_run(session, intake)
        save(session, enqueued.run, state=state)
        save(session, enqueued.work_order, state=state)
    old = factories.make_run(session, intake)
    save(session, old.work_order, inserted_at=utcnow() - timedelta(days=10), state="failed")
    save(session, old.run, inserted_at=utcnow() - timedelta(days=10), state="failed")

    html = page.get(f"/projects/{project.id}?period=7d").text
    assert 'id="metric-work-orders">3<' in html
    assert 'id="metric-runs">3<' in html
    assert 'id="metric-success-rate">66.7%<' in html
    assert 'id="metric-failed">1<' in html
    assert "status=failed&amp;status=crashed" in html and f"workflow_id={intake.id}" in html
    assert "quiet" in html
    wider = page.get(f"/projects/{project.id}?period=30d").text
    assert 'id="metric-work-orders">4<' in wider and 'id="metric-failed">2<' in wider


def test_dashboard_hides_edit_controls_from_viewers(
    sign_in_as: SignIn, session: Session, project: Project, viewer, editor
) -> None:
    factories.make_workflow(session, project, name="intake", jobs=["a"])
    viewer_html = sign_in_as(viewer).get(f"/projects/{project.id}").text
    assert "New workflow" not in viewer_html and ">View<" in viewer_html
    editor_html = sign_in_as(editor).get(f"/projects/{project.id}").text
    assert 'id="new-workflow"' in editor_html and ">Edit<" in editor_html


def test_dashboard_of_a_foreign_project_is_not_found(sign_in_as: SignIn, session, project) -> None:
    outsider = factories.make_user(session)
    response = sign_in_as(outsider).get(f"/projects/{project.id}")
    assert response.status_code == 404 and "Project not found" in response.text
