"""`/api/tokens`: personal access tokens shown once, listed without secrets, revocable."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from lightning_flows.accounts.models import ApiToken
from lightning_flows.audit.models import AuditEvent
from tests import factories


def test_create_list_use_and_revoke(client: TestClient, session: Session, user, auth) -> None:
    created = client.post("/api/tokens", json={"name": "ci"}, headers=auth)
    assert created.status_code == 201
    token = created.json()["token"]
    assert token.startswith("lfp_")
    listed = client.get("/api/tokens", headers=auth)
    assert token not in listed.text and {t["name"] for t in listed.json()} == {"test", "ci"}
    assert client.get("/api/users/me", headers={"Authorization": f"Bearer {token}"}).is_success
    stored = session.get(ApiToken, __import__("uuid").UUID(created.json()["id"]))
    assert stored.last_used_at is not None and token not in stored.token_hash
    revoked = client.delete(f"/api/tokens/{created.json()['id']}", headers=auth)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    after = client.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
    assert after.status_code == 401
    events = [
        e.event for e in session.exec(select(AuditEvent).where(AuditEvent.item_id == user.id))
    ]
    assert events.count("token_created") == 2 and events.count("token_revoked") == 1


def test_someone_elses_token_cannot_be_revoked(client: TestClient, session: Session, auth) -> None:
    other = factories.make_user(session)
    token, _ = __import__("lightning_flows.accounts.service", fromlist=["x"]).create_api_token(
        session, other, "theirs"
    )
    assert client.delete(f"/api/tokens/{token.id}", headers=auth).status_code == 404


def test_profile_page_creates_shows_once_and_revokes(client: TestClient, user) -> None:
    from tests.support.web import csrf_token, sign_in

    sign_in(client, user.email, factories.PASSWORD)
    page = client.post(
        "/profile/tokens", data={"name": "laptop", "csrf_token": csrf_token(client, "/profile")}
    )
    assert page.status_code == 200 and "Copy it now" in page.text
    import re

    token = re.search(r"(lfp_[\w-]+)", page.text).group(1)
    again = client.get("/profile")
    assert token not in again.text and "laptop" in again.text
    token_id = re.search(r"/profile/tokens/([0-9a-f-]+)/revoke", again.text).group(1)
    revoked = client.post(
        f"/profile/tokens/{token_id}/revoke", data={"csrf_token": csrf_token(client, "/profile")}
    )
    assert revoked.status_code == 200 and "revoked" in revoked.text
