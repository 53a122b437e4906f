"""Fixtures for the page tests: a browser-like client signed in as a chosen user."""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from lightning_flows.accounts import sessions
from lightning_flows.accounts.models import User
from lightning_flows.api.web import session_cookie_name
from lightning_flows.projects.models import Role
from tests import factories
from tests.support.web import csrf_token

SignIn = Callable[[User], TestClient]


@pytest.fixture
def sign_in_as(client: TestClient, session: Session) -> SignIn:
    """Give the client a browser session of `user` (MFA done); returns the client."""

    def sign_in(user: User) -> TestClient:
        client.cookies.clear()
        client.cookies.set(
            session_cookie_name(), sessions.create_session(session, user, mfa_verified=True)
        )
        return client

    return sign_in


@pytest.fixture
def page(sign_in_as: SignIn, user: User) -> TestClient:
    """The client, signed in as `user` (the owner of the `project` fixture)."""
    return sign_in_as(user)


def post_form(
    client: TestClient, path: str, data: dict[str, object], *, csrf_page: str = "/projects"
):
    """POST a form the way a browser does, with the CSRF token of a page."""
    return client.post(
        path, data={**data, "csrf_token": csrf_token(client, csrf_page)}, follow_redirects=False
    )


def member(session: Session, project: factories.Project, role: Role) -> User:
    """A new user with `role` in `project`."""
    user = factories.make_user(session)
    factories.add_member(session, project, user, role)
    return user


@pytest.fixture
def viewer(session: Session, project: factories.Project) -> User:
    return member(session, project, Role.VIEWER)


@pytest.fixture
def editor(session: Session, project: factories.Project) -> User:
    return member(session, project, Role.EDITOR)


def alerts(html: str) -> list[str]:
    """The text of the page's alert boxes."""
    return [html_lib.unescape(re.sub(r"\s+", " ", m)).strip() for m in _ALERT.findall(html)]


_ALERT = re.compile(r'role="alert"[^>]*>(.*?)</(?:div|p)>', re.S)
