"""OAuth2 credentials: authorization-code flow, encrypted token, refresh before a run."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlparse

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session

from lightning_flows.credentials import usage
from lightning_flows.credentials.models import Credential
from lightning_flows.credentials.oauth import CredentialUnavailable
from tests import factories
from tests.support.oauth_server import CLIENT_ID, CLIENT_SECRET, Provider, local_oauth_provider
from tests.support.web import sign_in


@pytest.fixture
def idp() -> Iterator[Provider]:
    with local_oauth_provider() as provider:
        yield provider


def _oauth_credential(client: TestClient, auth: dict, idp: Provider, project) -> dict:
    created = client.post(
        "/api/credentials",
        json={
            "name": "Salesforce",
            "schema": "oauth",
            "body": {
                "clientId": CLIENT_ID,
                "clientSecret": CLIENT_SECRET,
                "authorizationUrl": f"{idp.url}/authorize",
                "tokenUrl": f"{idp.url}/token",
                "scope": "api refresh_token",
                "instance_url": "https://eu.example.org",
            },
            "project_ids": [str(project.id)],
        },
        headers=auth,
    )
    assert created.status_code == 201, created.text
    assert created.json()["body"]["clientSecret"] == "********"
    assert created.json()["oauth"] == {"connected": False, "expires_at": None, "scope": None}
    return created.json()


def _connect(client: TestClient, auth: dict, credential_id: str) -> httpx.Response:
    url = client.post(f"/api/credentials/{credential_id}/oauth/authorize", headers=auth)
    assert url.status_code == 200, url.text
    back = httpx.get(url.json()["authorization_url"], follow_redirects=False)
    callback = urlparse(back.headers["location"])
    assert callback.path == "/oauth/callback"
    return client.get(f"{callback.path}?{callback.query}")


def test_authorize_store_encrypted_and_configure_a_run(
    client: TestClient, session: Session, user, project, auth, idp: Provider
) -> None:
    created = _oauth_credential(client, auth, idp, project)
    sign_in(client, user.email, factories.PASSWORD)
    page = _connect(client, auth, created["id"])
    assert page.status_code == 200 and "Credential connected" in page.text
    status = client.get(f"/api/credentials/{created['id']}", headers=auth).json()["oauth"]
    assert status["connected"] is True and status["scope"] == "api refresh_token"
    [raw] = [r[0] for r in session.execute(text("SELECT oauth_token FROM credentials"))]
    assert raw.startswith("v1:") and "access-" not in raw and "refresh-" not in raw
    link_id = uuid.UUID(created["project_credentials"][0]["id"])
    config = usage.configuration_for(session, link_id)
    assert config["access_token"].startswith("access-1-")
    assert config["instance_url"] == "https://eu.example.org"
    assert "refresh_token" not in config and "clientSecret" not in config
    assert idp.issued == 1, "a fresh token is not refreshed"


def test_an_expiring_token_is_refreshed_before_the_run(
    client: TestClient, session: Session, user, project, auth, idp: Provider
) -> None:
    created = _oauth_credential(client, auth, idp, project)
    sign_in(client, user.email, factories.PASSWORD)
    idp.expires_in = 60  # inside the 300 s refresh margin
    _connect(client, auth, created["id"])
    link_id = uuid.UUID(created["project_credentials"][0]["id"])
    config = usage.configuration_for(session, link_id)
    assert config["access_token"].startswith("access-2-") and idp.issued == 2
    assert idp.token_requests[-1]["grant_type"] == "refresh_token"
    session.expire_all()
    stored = session.get(Credential, uuid.UUID(created["id"])).oauth_token
    assert stored["access_token"] == config["access_token"] and stored["expires_at"] > time.time()

    idp.refuse_refresh = True
    with pytest.raises(CredentialUnavailable, match="could not be refreshed"):
        usage.configuration_for(session, link_id)


def test_unconnected_credentials_explain_what_to_do(
    client: TestClient, session: Session, project, auth, idp: Provider
) -> None:
    created = _oauth_credential(client, auth, idp, project)
    link_id = uuid.UUID(created["project_credentials"][0]["id"])
    with pytest.raises(CredentialUnavailable, match="not authorized yet"):
        usage.configuration_for(session, link_id)
    raw = factories.make_owned_credential(session, factories.make_user(session), {"a": "b"})
    refused = client.post(f"/api/credentials/{raw.id}/oauth/authorize", headers=auth)
    assert refused.status_code == 404


def test_the_callback_belongs_to_the_owner_s_browser(
    client: TestClient, session: Session, project, auth, idp: Provider
) -> None:
    created = _oauth_credential(client, auth, idp, project)
    url = client.post(f"/api/credentials/{created['id']}/oauth/authorize", headers=auth)
    back = httpx.get(url.json()["authorization_url"], follow_redirects=False)
    callback = urlparse(back.headers["location"])
    other = factories.make_user(session)
    with TestClient(client.app) as other_browser:
        sign_in(other_browser, other.email, factories.PASSWORD)
        response = other_browser.get(f"{callback.path}?{callback.query}")
        assert response.status_code == 403 and "another account" in response.text
        anonymous = TestClient(client.app).get(
            f"{callback.path}?{callback.query}", follow_redirects=False
        )
        assert anonymous.status_code == 303
    sign_in(client, created["owner"]["email"], factories.PASSWORD)
    forged = client.get("/oauth/callback?code=x&state=garbage")
    assert forged.status_code == 422 and "Invalid OAuth state" in forged.text
