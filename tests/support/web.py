"""Driving the server-rendered pages from tests: CSRF tokens and signing in."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pyotp
from fastapi.testclient import TestClient

_META = re.compile(r'<meta name="csrf-token" content="([0-9a-f]+)">')


def csrf_token(client: TestClient, path: str = "/password/reset") -> str:
    """The CSRF token of a page (fetching it also sets the anonymous CSRF cookie)."""
    response = client.get(path, follow_redirects=False)
    found = _META.search(response.text)
    assert found, f"no csrf-token meta tag on {path} ({response.status_code})"
    return found.group(1)


def sign_in(client: TestClient, email: str, password: str, totp_secret: str | None = None):
    """Sign in through the login form (and the MFA step); returns the last response."""
    response = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_token(client)},
        follow_redirects=False,
    )
    if totp_secret and response.status_code == 303 and "/login/mfa" in response.headers["location"]:
        response = client.post(
            "/login/mfa",
            data={
                "code": pyotp.TOTP(totp_secret).now(),
                "csrf_token": csrf_token(client, "/login/mfa"),
            },
            follow_redirects=False,
        )
    return response


def screenshot_dir(docs_dir: Path) -> Path:
    """Where browser tests write the documentation's screenshots: `docs_dir` itself with
    `LIGHTNING_UPDATE_SCREENSHOTS=1` (`make screenshots`), else a scratch folder, so that
    a test run leaves the checkout as it was."""
    if os.environ.get("LIGHTNING_UPDATE_SCREENSHOTS") == "1":
        return docs_dir
    scratch = Path(tempfile.gettempdir()) / "lightning-flows-screenshots" / docs_dir.name
    scratch.mkdir(parents=True, exist_ok=True)
    return scratch
