"""TOTP MFA: enrolment with a QR code, the login step, single-use backup codes, and
projects that require MFA."""

from __future__ import annotations

import re

import pyotp
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from lightning_flows.accounts import mfa
from lightning_flows.accounts.models import User
from lightning_flows.audit.models import AuditEvent
from tests import factories
from tests.support.web import csrf_token, sign_in


def test_enrolment_from_the_profile_page(client: TestClient, session: Session, user) -> None:
    sign_in(client, user.email, factories.PASSWORD)
    page = client.post("/profile/mfa/enrol", data={"csrf_token": csrf_token(client, "/profile")})
    assert page.status_code == 200
    assert 'src="data:image/svg+xml' in page.text and 'alt="QR code' in page.text
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', page.text).group(1)
    wrong = client.post(
        "/profile/mfa/confirm",
        data={"code": "000000", "csrf_token": csrf_token(client, "/profile")},
    )
    assert wrong.status_code == 422 and "does not match" in wrong.text
    done = client.post(
        "/profile/mfa/confirm",
        data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf_token(client, "/profile")},
    )
    assert done.status_code == 200 and "MFA is on" in done.text
    codes = re.findall(r'<li class="secret">([a-z0-9-]+)</li>', done.text)
    assert len(codes) == 10
    session.expire_all()
    stored = session.get(User, user.id)
    assert stored.mfa_enabled and all(c["hash"] not in codes for c in stored.mfa_backup_codes)
    assert codes[0] not in client.get("/profile").text, "backup codes are shown once"


def test_login_asks_for_the_code_and_refuses_a_replay(
    client: TestClient, session: Session, user
) -> None:
    secret, _codes = factories.enable_mfa(session, user)
    first = sign_in(client, user.email, factories.PASSWORD)
    assert first.status_code == 303 and first.headers["location"].startswith("/login/mfa")
    assert client.get("/profile", follow_redirects=False).status_code == 303, "not yet signed in"
    assert client.get("/api/users/me").status_code == 401
    code = pyotp.TOTP(secret).now()
    done = client.post(
        "/login/mfa",
        data={"code": code, "csrf_token": csrf_token(client, "/login/mfa")},
        follow_redirects=False,
    )
    assert done.status_code == 303 and client.get("/profile").status_code == 200
    with TestClient(client.app) as other:
        sign_in(other, user.email, factories.PASSWORD)
        replay = other.post(
            "/login/mfa", data={"code": code, "csrf_token": csrf_token(other, "/login/mfa")}
        )
        assert replay.status_code == 401 and "not valid" in replay.text


def test_backup_codes_work_once(client: TestClient, session: Session, user) -> None:
    _secret, codes = factories.enable_mfa(session, user)
    session.expire_all()
    stored = session.get(User, user.id)
    assert mfa.verify(session, stored, codes[0].upper()) is True
    assert mfa.verify(session, stored, codes[0]) is False
    assert mfa.remaining_backup_codes(stored) == 9
    events = [
        e.event for e in session.exec(select(AuditEvent).where(AuditEvent.item_id == user.id))
    ]
    assert "mfa_backup_code_used" in events and events.count("login_failed") == 1
    sign_in(client, user.email, factories.PASSWORD)
    ok = client.post(
        "/login/mfa",
        data={"code": codes[1], "csrf_token": csrf_token(client, "/login/mfa")},
        follow_redirects=False,
    )
    assert ok.status_code == 303


def test_wrong_codes_count_towards_the_lockout(client: TestClient, session: Session, user) -> None:
    factories.enable_mfa(session, user)
    sign_in(client, user.email, factories.PASSWORD)
    for _ in range(4):
        client.post(
            "/login/mfa", data={"code": "111111", "csrf_token": csrf_token(client, "/login/mfa")}
        )
    locked = client.post(
        "/login/mfa", data={"code": "111111", "csrf_token": csrf_token(client, "/login/mfa")}
    )
    assert locked.status_code == 401
    again = client.post(
        "/login/mfa", data={"code": "111111", "csrf_token": csrf_token(client, "/login/mfa")}
    )
    assert again.status_code == 429 and "Too many failed" in again.text


def test_projects_requiring_mfa_refuse_members_without_it(
    client: TestClient, session: Session, user, auth
) -> None:
    project = factories.make_project(session, owner=user, requires_mfa=True)
    refused = client.get(f"/api/projects/{project.id}", headers=auth)
    assert refused.status_code == 403 and "multi-factor" in refused.json()["detail"]
    outsider = factories.auth_headers(session, factories.make_user(session))
    assert client.get(f"/api/projects/{project.id}", headers=outsider).status_code == 404
    factories.enable_mfa(session, user)
    assert client.get(f"/api/projects/{project.id}", headers=auth).status_code == 200


def test_turning_mfa_off_needs_the_password_and_a_superuser_can_reset_it(
    client: TestClient, session: Session, user, auth
) -> None:
    factories.enable_mfa(session, user)
    admin = factories.auth_headers(session, factories.make_user(session, superuser=True))
    assert client.delete(f"/api/users/{user.id}/mfa", headers=auth).status_code == 403
    assert client.delete(f"/api/users/{user.id}/mfa", headers=admin).status_code == 204
    session.expire_all()
    stored = session.get(User, user.id)
    assert not stored.mfa_enabled and stored.mfa_secret is None and stored.mfa_backup_codes == []
