"""Single sign-on with OpenID Connect against a local provider stub on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from lightning_flows.accounts.models import AuthProvider, User
from tests import factories
from tests.support.oauth_server import CLIENT_ID, CLIENT_SECRET, Provider, local_oauth_provider


@pytest.fixture
def idp() -> Iterator[Provider]:
    with local_oauth_provider() as provider:
        yield provider


@pytest.fixture
def provider_row(client: TestClient, session: Session, idp: Provider) -> dict:
    admin = factories.auth_headers(session, factories.make_user(session, superuser=True))
    created = client.post(
        "/api/auth_providers",
        json={
            "name": "Test IdP",
            "discovery_url": idp.discovery_url,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    assert CLIENT_SECRET not in created.text
    assert created.json()["redirect_uri"].endswith(f"/auth/sso/{created.json()['id']}/callback")
    return created.json()


def _through_the_provider(client: TestClient, provider_id: str):
    start = client.get(f"/auth/sso/{provider_id}?next=/profile", follow_redirects=False)
    assert start.status_code == 303, start.text
    authorize = start.headers["location"]
    query = parse_qs(urlparse(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"]
    back = httpx.get(authorize, follow_redirects=False)  # the provider approves at once
    assert back.status_code == 302
    callback = urlparse(back.headers["location"])
    return client.get(f"{callback.path}?{callback.query}", follow_redirects=False)


def test_login_page_offers_the_provider(client: TestClient, provider_row: dict) -> None:
    page = client.get("/login")
    assert f'href="/auth/sso/{provider_row["id"]}?next=' in page.text and "Test IdP" in page.text


def test_sso_login_creates_the_user_and_signs_in(
    client: TestClient, session: Session, idp: Provider, provider_row: dict
) -> None:
    response = _through_the_provider(client, provider_row["id"])
    assert response.status_code == 303 and response.headers["location"] == "/profile"
    assert client.get("/profile").status_code == 200
    user = session.exec(select(User).where(User.email == idp.email)).one()
    assert user.hashed_password is None and user.first_name == "Sso"
    assert idp.token_requests[-1]["code_verifier"], "PKCE verifier sent"


def test_existing_users_with_mfa_still_give_their_code(
    client: TestClient, session: Session, idp: Provider, provider_row: dict
) -> None:
    user = factories.make_user(session, email=idp.email)
    factories.enable_mfa(session, user)
    response = _through_the_provider(client, provider_row["id"])
    assert response.headers["location"].startswith("/login/mfa")


def test_a_token_for_another_audience_is_refused(
    client: TestClient, session: Session, idp: Provider, provider_row: dict
) -> None:
    idp.wrong_audience = True
    response = _through_the_provider(client, provider_row["id"])
    assert response.status_code == 400 and "id_token is not valid" in response.text
    assert session.exec(select(User).where(User.email == idp.email)).first() is None


def test_unverified_emails_are_refused(
    client: TestClient, idp: Provider, provider_row: dict
) -> None:
    idp.email_verified = False
    response = _through_the_provider(client, provider_row["id"])
    assert response.status_code == 400 and "not verified" in response.text


def test_a_callback_without_the_browser_cookie_is_refused(
    client: TestClient, idp: Provider, provider_row: dict
) -> None:
    start = client.get(f"/auth/sso/{provider_row['id']}", follow_redirects=False)
    back = httpx.get(start.headers["location"], follow_redirects=False)
    callback = urlparse(back.headers["location"])
    with TestClient(client.app) as attacker_browser:
        response = attacker_browser.get(f"{callback.path}?{callback.query}")
    assert response.status_code == 400 and "start again" in response.text


def test_an_unreachable_provider_is_explained(client: TestClient, session: Session) -> None:
    provider = AuthProvider(
        name="down", discovery_url="http://127.0.0.1:9/x", client_id="c", client_secret="s"
    )
    session.add(provider)
    session.commit()
    response = client.get(f"/auth/sso/{provider.id}")
    assert response.status_code == 502 and "could not be read" in response.text


def test_provider_admin_keeps_the_secret_when_left_blank(
    client: TestClient, session: Session, provider_row: dict
) -> None:
    admin = factories.auth_headers(session, factories.make_user(session, superuser=True))
    patched = client.patch(
        f"/api/auth_providers/{provider_row['id']}",
        json={"client_secret": "", "enabled": False},
        headers=admin,
    )
    assert patched.status_code == 200 and patched.json()["enabled"] is False
    session.expire_all()
    assert session.exec(select(AuthProvider)).one().client_secret == CLIENT_SECRET
    assert "Test IdP" not in client.get("/login").text
