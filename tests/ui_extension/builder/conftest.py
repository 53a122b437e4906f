"""Browser fixtures for the builder: a live server, Debian's chromium via Playwright, sign-in."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import factories
from tests.support.projects import live_server
from tests.support.web import screenshot_dir

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
BUNDLE = Path(__file__).resolve().parents[3] / "ui_extension" / "static" / "dist" / "builder.js"
SCREENSHOTS = screenshot_dir(Path(__file__).resolve().parents[3] / "docs" / "screenshots")


@pytest.fixture(scope="module")
def base_url(database_url: str) -> Iterator[str]:
    """The whole app served by uvicorn on 127.0.0.1 (shared by a module's tests)."""
    with live_server() as url:
        yield url


@pytest.fixture(scope="module")  # one sync Playwright at a time (the e2e module starts its own)
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.fail("chromium is not installed: apt-get install -y chromium (see .ci/run)")
    if not BUNDLE.exists():
        pytest.fail("the front-end bundle is missing: run `make ui`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, base_url: str) -> Iterator[Any]:
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: dialog.accept())
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def sign_in(page: Any, user: factories.User) -> None:
    """Sign in through the login page."""
    page.goto("/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)
