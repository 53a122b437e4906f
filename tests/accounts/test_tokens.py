"""Personal access tokens authenticate the API; only their hash is stored."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from lightning_flows.accounts import service
from lightning_flows.accounts.models import ApiToken
from tests import factories


def test_token_authenticates_and_records_use(client: TestClient, session: Session, user) -> None:
    token, plaintext = service.create_api_token(session, user, "laptop")
    assert token.last_used_at is None
    stored = session.exec(select(ApiToken)).one()
    assert plaintext not in stored.token_hash and len(stored.token_hash) == 64
    response = client.get("/api/projects", headers={"Authorization": f"Bearer {plaintext}"})
    assert response.status_code == 200
    session.refresh(stored)
    assert stored.last_used_at is not None


def test_missing_wrong_and_revoked_tokens_get_401(
    client: TestClient, session: Session, user
) -> None:
    assert client.get("/api/projects").status_code == 401
    assert client.get("/api/projects").headers["www-authenticate"] == "Bearer"
    wrong = client.get("/api/projects", headers={"Authorization": "Bearer lfp_nope"})
    assert wrong.status_code == 401 and wrong.json()["detail"] == "Invalid access token."
    token, plaintext = service.create_api_token(session, user)
    service.revoke_api_token(session, user, token.id)
    revoked = client.get("/api/projects", headers={"Authorization": f"Bearer {plaintext}"})
    assert revoked.status_code == 401


def test_disabled_user_cannot_use_tokens(client: TestClient, session: Session, user) -> None:
    headers = factories.auth_headers(session, user)
    user.disabled = True
    session.add(user)
    session.commit()
    assert client.get("/api/projects", headers=headers).status_code == 401


def test_duplicate_email_is_a_conflict(session: Session, user) -> None:
    import pytest

    from lightning_flows.core.errors import Conflict

    with pytest.raises(Conflict, match="already exists"):
        factories.make_user(session, email=user.email.upper())
