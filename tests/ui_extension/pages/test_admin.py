"""Superuser pages: users, every project, the audit trail with filters."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from lightning_flows.accounts.models import User
from tests import factories
from tests.ui_extension.pages.conftest import SignIn, alerts, post_form


@pytest.fixture
def admin(sign_in_as: SignIn, session: Session) -> TestClient:
    return sign_in_as(factories.make_user(session, email="root@example.org", superuser=True))


def test_only_superusers_reach_the_admin_pages(page: TestClient, session: Session, user) -> None:
    for path in ("/admin/users", "/admin/projects", "/admin/audit"):
        response = page.get(path)
        assert response.status_code == 403 and "Only a superuser" in response.text
    assert "/admin/users" not in page.get("/projects").text
    refused = post_form(page, "/admin/users", {"email": "x@example.org", "password": "x" * 12})
    assert refused.status_code == 403
    assert session.exec(select(User).where(User.email == "x@example.org")).first() is None


def test_users_are_created_disabled_and_promoted(admin: TestClient, session: Session) -> None:
    assert "Admin</a>" in admin.get("/projects").text
    created = post_form(
        admin, "/admin/users", {"email": "new@example.org", "password": "a long password 1"}
    )
    assert created.status_code == 303
    person = session.exec(select(User).where(User.email == "new@example.org")).one()
    for change in ("disable", "grant_superuser"):
        assert post_form(admin, f"/admin/users/{person.id}", {"change": change}).status_code == 303
    session.refresh(person)
    assert person.disabled and person.is_superuser
    html = admin.get("/admin/users").text
    assert "new@example.org" in html and "Enable" in html and "Remove superuser" in html


def test_user_form_errors_are_shown(admin: TestClient) -> None:
    response = post_form(admin, "/admin/users", {"email": "bad", "password": "short"})
    assert response.status_code == 422 and alerts(response.text)


def test_every_project_is_listed(admin: TestClient, session: Session, project) -> None:
    html = admin.get("/admin/projects").text
    assert project.name in html and f"/admin/audit?project_id={project.id}" in html


def test_audit_trail_filters(admin: TestClient, session: Session, project, user) -> None:
    other = factories.make_project(session, name="other", owner=user)
    html = admin.get(f"/admin/audit?project_id={project.id}&item_type=project").text
    assert "1 event," in html and "created" in html and user.email in html
    assert str(other.id)[:8] not in html
    assert "0 events" in admin.get("/admin/audit?event=no_such_event").text
    messy = admin.get("/admin/audit?project_id=not-a-uuid")
    assert messy.status_code == 200 and "not a valid id" in " ".join(alerts(messy.text))
