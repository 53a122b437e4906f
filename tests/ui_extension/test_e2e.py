"""End to end in a real browser: Debian's chromium (Playwright) against uvicorn and a real worker.

Sign in, create a project, a credential through its schema form, a workflow with a
webhook trigger and two steps joined by `on_job_success` on the builder's canvas;
POST to the webhook; find the work order in history (filters, search), inspect
the run, retry from the second step; a viewer sees no edit controls. Saves the
screenshots in docs/screenshots/.
"""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session, col, select

from lightning_flows.projects.models import Project, Role
from lightning_flows.runs.models import Run
from lightning_flows.workflows.models import Trigger, Workflow
from tests import factories
from tests.support.projects import live_server
from tests.support.runs import wait_for_run
from tests.support.web import screenshot_dir

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = screenshot_dir(Path(__file__).resolve().parents[2] / "docs" / "screenshots")
CASE_ID = "CP-2024-0917"
CHECK_CASE = (
    "fn(state => {\n"
    "  console.log('checking case ' + state.data.case_id + ' as ' + state.configuration.username"
    " + ' with ' + state.configuration.password);\n"
    "  return { ...state, data: { ...state.data, checked: true } };\n"
    "});\n"
)
STORE_CASE = (
    "fn(state => {\n"
    "  console.log('storing case ' + state.data.case_id);\n"
    "  return { ...state, data: { ...state.data, stored: 'REG-77' } };\n"
    "});\n"
)


@pytest.fixture(scope="module")
def base_url(database_url: str) -> Iterator[str]:
    with live_server() as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail("chromium is missing: apt-get install -y chromium (see .ci/run)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser: Any, base_url: str) -> Iterator[Any]:
    """A function giving a fresh browser tab (own cookies) at 1280x800; no JS errors allowed."""
    contexts: list[Any] = []
    errors: list[str] = []

    def new_page(width: int = 1280, height: int = 800) -> Any:
        context = browser.new_context(
            base_url=base_url, viewport={"width": width, "height": height}
        )
        context.set_default_timeout(20_000)
        contexts.append(context)
        tab = context.new_page()
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        tab.on("dialog", lambda dialog: dialog.accept())
        return tab

    yield new_page
    for context in contexts:
        context.close()
    assert not errors, f"JavaScript errors: {errors}"


def sign_in(tab: Any, user: factories.User) -> None:
    tab.goto("/login")
    tab.get_by_label("Email").fill(user.email)
    tab.get_by_label("Password").fill(factories.PASSWORD)
    tab.get_by_role("button", name="Sign in").click()
    tab.wait_for_url(lambda url: "/login" not in url)


def shoot(tab: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def write_code(tab: Any, text: str) -> None:
    """Replace the selected step's code in the builder's editor, as typing would."""
    tab.locator("#inspector .cm-content").click()
    tab.keyboard.press("Control+A")
    tab.keyboard.press("Delete")
    tab.keyboard.insert_text(text)


def create_project(tab: Any, session: Session) -> Project:
    tab.goto("/projects")
    tab.get_by_label("Name").fill("Child protection")
    tab.get_by_role("button", name="Create project").click()
    tab.wait_for_url(re.compile(r"/projects/[0-9a-f-]{36}$"))
    return session.exec(select(Project).where(Project.name == "Child protection")).one()


def create_credential(tab: Any, project: Project) -> None:
    """Through the form generated from @openfn/language-http's configuration schema."""
    tab.goto("/credentials")
    tab.get_by_label("Type").select_option("http")
    tab.get_by_role("button", name="Continue").click()
    tab.locator("#credential-name").fill("registry")
    tab.get_by_label("Username").fill("clerk")
    tab.get_by_label("Password").fill("s3cret-pass-99")
    tab.get_by_label("Base URL").fill("https://registry.example.org")
    tab.get_by_label(project.name).check()
    tab.get_by_role("button", name="Create credential").click()
    tab.get_by_text("Credential created.").wait_for()
    assert tab.get_by_label("Password").input_value() == ""  # never refilled
    shoot(tab, "credentials.png")


def build_workflow(tab: Any, project: Project) -> None:
    """On the builder's canvas: a webhook trigger, two steps joined on success."""
    tab.goto(f"/projects/{project.id}/workflows/new")
    tab.wait_for_selector("#canvas .node")
    tab.get_by_label("Workflow name").fill("Case intake")
    step = tab.locator("#canvas").get_by_role("button", name=re.compile(r"^Step: Job 1 \("))
    step.click()
    tab.get_by_label("Name", exact=True).fill("check case")
    tab.get_by_label("Credential").select_option(label="registry")
    write_code(tab, CHECK_CASE)
    tab.get_by_role("button", name="Add next step").click()
    tab.get_by_label("Name", exact=True).fill("store case")
    write_code(tab, STORE_CASE)
    tab.get_by_role("button", name="Save").click()
    tab.get_by_role("status").filter(has_text="Saved (version 1)").wait_for()
    assert tab.locator("#canvas .edge", has_text="On success").count() == 1


def wait_for_history_row(tab: Any, project: Project, state: str) -> Any:
    """Reload the history until its newest work order shows `state`."""
    tab.goto(f"/projects/{project.id}/history")
    for _ in range(120):
        row = tab.locator("li.work-order").first
        if row.count() and row.locator(".badge").first.inner_text() == state:
            return row
        tab.wait_for_timeout(500)
        tab.reload()
    raise AssertionError(f"no {state} work order in the history")


def test_build_trigger_inspect_and_retry(
    open_page, session: Session, base_url: str, worker
) -> None:
    owner = factories.make_user(session, email="owner@example.org")
    tab = open_page()
    sign_in(tab, owner)
    project = create_project(tab, session)
    create_credential(tab, project)
    build_workflow(tab, project)

    workflow = session.exec(select(Workflow).where(Workflow.project_id == project.id)).one()
    trigger = session.exec(select(Trigger).where(Trigger.workflow_id == workflow.id)).one()
    response = httpx.post(f"{base_url}/i/{trigger.id}", json={"case_id": CASE_ID, "child": "Amina"})
    assert response.status_code == 200, response.text
    first = wait_for_run(session, uuid.UUID(response.json()["run_id"]))
    assert first.state == "success"

    # History: the work order, filters, search, expanding a row.
    row = wait_for_history_row(tab, project, "success")
    tab.get_by_label("failed", exact=True).check()
    tab.get_by_role("button", name="Apply filters").click()
    assert tab.locator("li.work-order").count() == 0
    tab.get_by_label("failed", exact=True).uncheck()
    tab.get_by_label("success", exact=True).check()
    tab.get_by_label("Search input/output data and logs").fill(CASE_ID)
    tab.get_by_role("button", name="Apply filters").click()
    assert "status=success" in tab.url and "search=CP-2024-0917" in tab.url
    assert tab.locator("li.work-order").count() == 1
    tab.get_by_label("Search input/output data and logs").fill("no such case anywhere")
    tab.get_by_role("button", name="Apply filters").click()
    assert tab.locator("li.work-order").count() == 0
    tab.goto(f"/projects/{project.id}/history?search={CASE_ID}")
    row = tab.locator("li.work-order").first
    row.locator("summary").click()
    assert row.get_by_role("link", name="check case").is_visible()
    shoot(tab, "history.png")

    # The run inspector: both steps with input, output and logs (secrets scrubbed).
    row.locator("a.run-link").click()
    tab.wait_for_url(re.compile(rf"/runs/{first.id}$"))
    steps = tab.locator("section.step")
    assert steps.count() == 2
    for index in range(2):
        step = steps.nth(index)
        assert step.get_by_text("Input", exact=False).first.is_visible()
        assert step.locator("pre.json").count() == 2  # input and output
    check, store = steps.nth(0), steps.nth(1)
    assert CASE_ID in check.locator("pre.json").first.inner_text()
    assert '"checked": true' in check.locator("pre.json").nth(1).inner_text()
    assert '"stored": "REG-77"' in store.locator("pre.json").nth(1).inner_text()
    logs = check.locator("table.logs").inner_text()
    assert f"checking case {CASE_ID} as clerk with ***" in logs
    assert "s3cret-pass-99" not in tab.content()
    assert f"storing case {CASE_ID}" in store.locator("table.logs").inner_text()
    assert tab.locator(".timeline .bar").count() == 2
    shoot(tab, "run.png")

    # Retry from the second step: a new run of the same work order, starting there.
    store.get_by_role("button", name="Retry from this step").click()
    tab.wait_for_url(lambda url: str(first.id) not in url and "/runs/" in url)
    retry_id = uuid.UUID(tab.url.rstrip("/").split("/")[-1])
    retry = wait_for_run(session, retry_id)
    assert retry.state == "success" and retry.work_order_id == first.work_order_id
    tab.reload()
    tab.locator("#run-state", has_text="success").wait_for()
    assert tab.locator("section.step").count() == 1
    assert "store case" in tab.locator("section.step h3").inner_text()
    assert tab.get_by_role("navigation", name="Runs of this work order").is_visible()

    tab.goto(f"/projects/{project.id}")
    assert tab.locator("#metric-work-orders").inner_text() == "1"
    assert tab.locator("#metric-runs").inner_text() == "2"
    shoot(tab, "dashboard.png")
    tab.goto(f"/projects/{project.id}/settings")
    assert trigger.id.hex[:8] in tab.locator(".webhook-url").inner_text().replace("-", "")
    shoot(tab, "settings.png")


def test_viewer_sees_no_edit_controls(open_page, session: Session) -> None:
    owner = factories.make_user(session)
    project = factories.make_project(session, owner=owner)
    workflow = factories.make_workflow(session, project, jobs=["a", "b"])
    enqueued = factories.make_run(session, workflow, {"data": {}})
    run = session.get(Run, enqueued.run.id)
    assert run is not None
    run.state = "failed"
    session.add(run)
    session.commit()
    viewer = factories.make_user(session)
    factories.add_member(session, project, viewer, Role.VIEWER)

    tab = open_page(width=390, height=844)  # a phone: pages must stay usable narrow
    sign_in(tab, viewer)
    tab.goto(f"/projects/{project.id}")
    assert tab.get_by_role("link", name="New workflow").count() == 0
    assert_fits(tab)
    tab.goto(f"/projects/{project.id}/history")
    tab.locator("li.work-order summary").first.click()
    assert_fits(tab)
    tab.goto(f"/projects/{project.id}/runs/{run.id}")
    assert tab.get_by_role("button", name="Retry from this step").count() == 0
    assert_fits(tab)
    tab.goto(f"/projects/{project.id}/settings")
    for name in ("Save settings", "Add member", "Create auth method", "Preview changes"):
        assert tab.get_by_role("button", name=name).count() == 0, name
    assert tab.get_by_label("Name", exact=True).is_disabled()
    status = tab.evaluate(
        """async (url) => (await fetch(url, {method: 'POST', headers: {
            'Content-Type': 'application/x-www-form-urlencoded'},
            body: 'name=taken&retention_policy=erase_all&csrf_token=' +
                  document.querySelector('meta[name=csrf-token]').content})).status""",
        f"/projects/{project.id}/settings",
    )
    assert status == 403
    session.expire_all()
    assert session.exec(select(Project).where(col(Project.id) == project.id)).one().name != "taken"
    assert_fits(tab)


def assert_fits(tab: Any) -> None:
    """The page does not scroll sideways (wide tables scroll inside their own box)."""
    viewport = tab.evaluate("window.innerWidth")
    too_wide = tab.evaluate(
        """(w) => [...document.querySelectorAll('body *')]
            .filter((e) => e.getBoundingClientRect().right > w + 1)
            .slice(0, 5).map((e) => `${e.tagName}#${e.id}.${e.className}`)""",
        viewport,
    )
    width = tab.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport, f"{tab.url} is {width}px wide in {viewport}px: {too_wide}"
