"""Password reset by an emailed single-use link, through a local SMTP server."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from lightning_flows.accounts.models import UserSession
from lightning_flows.core.config import reset_settings
from tests import factories
from tests.support.smtp_server import Mailbox, local_smtp_server
from tests.support.web import csrf_token, sign_in


@pytest.fixture
def mailbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    with local_smtp_server() as box:
        monkeypatch.setenv("LIGHTNING_SMTP_HOST", box.host)
        monkeypatch.setenv("LIGHTNING_SMTP_PORT", str(box.port))
        monkeypatch.setenv("LIGHTNING_MAIL_FROM", "Flows <flows@example.org>")
        reset_settings()
        yield box
    monkeypatch.undo()
    reset_settings()


def _request_reset(client: TestClient, email: str):
    return client.post("/password/reset", data={"email": email, "csrf_token": csrf_token(client)})


def test_reset_link_by_email_sets_a_new_password_once(
    client: TestClient, session: Session, user, mailbox: Mailbox
) -> None:
    sign_in(client, user.email, factories.PASSWORD)
    response = _request_reset(client, user.email.upper())
    assert response.status_code == 200 and "If an account exists" in response.text
    [message] = mailbox.messages
    assert message["To"] == user.email and message["From"] == "Flows <flows@example.org>"
    body = message.get_payload(decode=True).decode()
    link = re.search(r"http://\S+/password/reset/(\S+)", body).group(0)
    path = "/password/reset/" + link.rsplit("/", 1)[1]
    assert client.get(path).status_code == 200
    mismatch = client.post(
        path,
        data={
            "new_password": "first new password",
            "confirm_password": "other",
            "csrf_token": csrf_token(client),
        },
    )
    assert mismatch.status_code == 422 and "differ" in mismatch.text
    done = client.post(
        path,
        data={
            "new_password": "first new password",
            "confirm_password": "first new password",
            "csrf_token": csrf_token(client),
        },
    )
    assert done.status_code == 200 and "Password changed" in done.text
    assert session.exec(select(UserSession)).all() == [], "signed out everywhere"
    reused = client.get(path)
    assert reused.status_code == 422 and "invalid, used or expired" in reused.text
    assert sign_in(client, user.email, "first new password").status_code == 303


def test_unknown_emails_get_the_same_answer_and_no_mail(
    client: TestClient, mailbox: Mailbox
) -> None:
    response = _request_reset(client, "nobody@example.org")
    assert response.status_code == 200 and "If an account exists" in response.text
    assert mailbox.messages == []


def test_without_smtp_the_page_says_what_is_missing(client: TestClient, user) -> None:
    response = _request_reset(client, user.email)
    assert response.status_code == 503 and "LIGHTNING_SMTP_HOST" in response.text


def test_an_unreachable_mail_server_is_reported(
    client: TestClient, user, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIGHTNING_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("LIGHTNING_SMTP_PORT", "9")
    reset_settings()
    try:
        response = _request_reset(client, user.email)
        assert response.status_code == 503 and "could not be sent" in response.text
    finally:
        monkeypatch.undo()
        reset_settings()
