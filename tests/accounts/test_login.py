"""Signing in through the pages: sessions, cookies, lockout, CSRF, logout, registration."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from lightning_flows.accounts.models import User, UserSession
from lightning_flows.audit.models import AuditEvent
from tests import factories
from tests.support.web import csrf_token, sign_in


def test_login_sets_a_hardened_session_cookie(client: TestClient, user) -> None:
    response = sign_in(client, user.email, factories.PASSWORD)
    assert response.status_code == 303 and response.headers["location"] == "/profile"
    cookie = response.headers["set-cookie"]
    assert "lf_session=" in cookie and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    profile = client.get("/profile")
    assert profile.status_code == 200 and user.email in profile.text
    assert profile.headers["x-frame-options"] == "DENY"


def test_cookies_are_secure_and_host_bound_in_production_settings(monkeypatch) -> None:
    from fastapi import Response

    from lightning_flows.api import web
    from lightning_flows.core.config import reset_settings

    monkeypatch.setenv("LIGHTNING_BASE_URL", "https://flows.example.org")
    reset_settings()
    try:
        response = Response()
        web.set_session_cookie(response, "value")
        cookie = response.headers["set-cookie"]
        assert cookie.startswith("__Host-lf_session=") and "Secure" in cookie
    finally:
        monkeypatch.undo()
        reset_settings()


def test_wrong_password_is_refused_and_audited(client: TestClient, session: Session, user) -> None:
    response = sign_in(client, user.email, "not the password")
    assert response.status_code == 401 and "Wrong email or password." in response.text
    unknown = sign_in(client, "nobody@example.org", "whatever")
    assert unknown.status_code == 401 and "Wrong email or password." in unknown.text
    [event] = session.exec(select(AuditEvent).where(AuditEvent.event == "login_failed")).all()
    assert event.item_id == user.id and event.details["reason"] == "wrong_password"
    assert "not the password" not in str(event.model_dump())


def test_lockout_after_repeated_failures(client: TestClient, session: Session, user) -> None:
    for _ in range(4):
        assert sign_in(client, user.email, "wrong password!").status_code == 401
    locked = sign_in(client, user.email, "wrong password!")
    assert locked.status_code == 429 and "try again in 15 minute" in locked.text
    still = sign_in(client, user.email, factories.PASSWORD)
    assert still.status_code == 429, "the right password does not open a locked account"
    session.expire_all()
    stored = session.get(User, user.id)
    assert stored.locked_until is not None
    stored.locked_until = None
    session.add(stored)
    session.commit()
    assert sign_in(client, user.email, factories.PASSWORD).status_code == 303
    session.expire_all()
    assert session.get(User, user.id).failed_login_attempts == 0


def test_forms_without_a_valid_csrf_token_are_refused(client: TestClient, user) -> None:
    data = {"email": user.email, "password": factories.PASSWORD}
    missing = client.post("/login", data=data, follow_redirects=False)
    assert missing.status_code == 403 and "CSRF" in missing.json()["detail"]
    csrf_token(client)  # the anonymous cookie is set now
    forged = client.post("/login", data={**data, "csrf_token": "0" * 64}, follow_redirects=False)
    assert forged.status_code == 403
    assert sign_in(client, user.email, factories.PASSWORD).status_code == 303
    # Signed in, the token is bound to the session: the anonymous one is worthless now.
    stale = client.post("/profile/tokens", data={"name": "x", "csrf_token": "0" * 64})
    assert stale.status_code == 403


def test_logout_ends_the_session(client: TestClient, session: Session, user) -> None:
    sign_in(client, user.email, factories.PASSWORD)
    token = csrf_token(client, "/profile")
    response = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert session.exec(select(UserSession)).all() == []
    assert client.get("/profile", follow_redirects=False).status_code == 303


def test_the_api_accepts_the_session_cookie_with_a_csrf_header(client: TestClient, user) -> None:
    sign_in(client, user.email, factories.PASSWORD)
    assert client.get("/api/users/me").json()["email"] == user.email
    refused = client.post("/api/projects", json={"name": "p"})
    assert refused.status_code == 403 and "X-CSRF-Token" in refused.json()["detail"]
    token = csrf_token(client, "/profile")
    created = client.post("/api/projects", json={"name": "p"}, headers={"X-CSRF-Token": token})
    assert created.status_code == 201


def test_password_change_signs_out_every_other_session(
    client: TestClient, session: Session, user
) -> None:
    from lightning_flows.api.app import create_app

    with TestClient(create_app()) as other_browser:
        sign_in(other_browser, user.email, factories.PASSWORD)
        sign_in(client, user.email, factories.PASSWORD)
        response = client.post(
            "/profile/password",
            data={
                "current_password": factories.PASSWORD,
                "new_password": "a brand new passphrase",
                "confirm_password": "a brand new passphrase",
                "csrf_token": csrf_token(client, "/profile"),
            },
        )
        assert response.status_code == 200 and "Password changed" in response.text
        assert other_browser.get("/profile", follow_redirects=False).status_code == 303
        assert client.get("/profile").status_code == 200  # this browser got a new session
    assert len(session.exec(select(UserSession)).all()) == 1
    assert sign_in(client, user.email, "a brand new passphrase").status_code == 303


def test_password_change_errors_are_explained(client: TestClient, user, auth) -> None:
    wrong = client.post(
        "/api/users/me/password",
        json={"current_password": "nope", "new_password": "long enough password"},
        headers=auth,
    )
    assert wrong.status_code == 422 and "current password" in wrong.json()["detail"]
    short = client.post(
        "/api/users/me/password",
        json={"current_password": factories.PASSWORD, "new_password": "short"},
        headers=auth,
    )
    assert short.status_code == 422 and "12 characters" in short.json()["detail"]


def test_register_then_a_superuser_turns_registration_off(
    client: TestClient, session: Session
) -> None:
    form = {
        "email": "new.person@example.org",
        "password": "a long enough password",
        "csrf_token": csrf_token(client, "/register"),
    }
    created = client.post("/register", data=form, follow_redirects=False)
    assert created.status_code == 303 and client.get("/profile").status_code == 200
    duplicate = client.post(
        "/register", data={**form, "csrf_token": csrf_token(client, "/register")}
    )
    assert duplicate.status_code == 409 and "already exists" in duplicate.text

    admin = factories.make_user(session, superuser=True)
    headers = factories.auth_headers(session, admin)
    off = client.patch("/api/settings", json={"allow_registration": False}, headers=headers)
    assert off.json() == {"allow_registration": False}
    with TestClient(client.app) as anonymous:
        assert anonymous.get("/register").status_code == 403
        refused = anonymous.post(
            "/register",
            data={**form, "email": "late@example.org", "csrf_token": csrf_token(anonymous)},
        )
        assert refused.status_code == 403 and "Registration is disabled" in refused.text
    plain = factories.auth_headers(session, factories.make_user(session))
    assert client.patch("/api/settings", json={}, headers=plain).status_code == 403


def test_next_only_goes_to_local_paths(client: TestClient, user) -> None:
    response = client.post(
        "/login",
        data={
            "email": user.email,
            "password": factories.PASSWORD,
            "next": "//evil.example.org/x",
            "csrf_token": csrf_token(client),
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/profile"
