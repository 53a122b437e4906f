"""The server-rendered auth pages: base template, labels, redirects, security headers."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests import factories
from tests.support.web import sign_in

PUBLIC_PAGES = ["/login", "/register", "/password/reset"]


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_public_pages_render_accessible_forms(client: TestClient, path: str) -> None:
    page = client.get(path)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<html lang="en">' in page.text and 'href="#main"' in page.text
    assert re.search(r'<meta name="csrf-token" content="[0-9a-f]{64}">', page.text)
    for field_id in re.findall(r'<input id="([\w-]+)"', page.text):
        assert f'<label for="{field_id}">' in page.text, f"{path}: #{field_id} has no label"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "lf_csrf=" in page.headers.get("set-cookie", "")


def test_signed_in_pages_redirect_anonymous_visitors(client: TestClient) -> None:
    response = client.get("/profile?tab=x", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/profile%3Ftab%3Dx"


def test_the_profile_lists_tokens_and_offers_mfa(client: TestClient, user) -> None:
    sign_in(client, user.email, factories.PASSWORD)
    page = client.get("/profile")
    assert "Set up MFA" in page.text and "Personal access tokens" in page.text
    assert f">{user.email}</a>" in page.text and 'action="/logout"' in page.text
    for field_id in re.findall(r'<input id="([\w-]+)"', page.text):
        assert f'<label for="{field_id}">' in page.text


def test_signed_in_visitors_skip_the_login_form(client: TestClient, user) -> None:
    sign_in(client, user.email, factories.PASSWORD)
    response = client.get("/login?next=/profile", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/profile"
