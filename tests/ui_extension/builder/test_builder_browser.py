"""The workflow builder in a real browser: Debian's chromium driven by Playwright."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlmodel import Session, col, select

from lightning_flows.projects.models import Role
from lightning_flows.runs.models import Dataclip, Run
from lightning_flows.workflows import service
from lightning_flows.workflows.models import Workflow
from tests import factories
from tests.ui_extension.builder.conftest import SCREENSHOTS, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def write_code(page: Any, text: str) -> None:
    """Replace the code in the selected step's editor, as typing would."""
    page.locator("#inspector .cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(text)


def open_builder(page: Any, project: Any, workflow: Any = None, query: str = "") -> None:
    page.goto(f"/projects/{project.id}/workflows/{workflow.id if workflow else 'new'}{query}")
    page.wait_for_selector("#canvas .react-flow__node")


def node(page: Any, name: str) -> Any:
    """The step called `name` on the diagram."""
    return page.locator("#canvas").get_by_role("button", name=re.compile(rf"^Step: {name} \("))


def node_position(page: Any, name: str) -> tuple[float, float]:
    """Where the step `name` sits on the diagram (its top-left corner, in diagram units)."""
    style = node(page, name).get_attribute("style") or ""
    found = re.search(r"translate\(([-\d.]+)px, ?([-\d.]+)px\)", style)
    assert found, style
    return float(found.group(1)), float(found.group(2))


def stored(session: Session, workflow_id: Any) -> Any:
    session.expire_all()
    workflow = session.get(Workflow, workflow_id)
    assert workflow is not None
    return service.to_public(session, workflow)


def test_build_a_workflow_on_the_canvas_and_save_it(page, session, user, project) -> None:
    sign_in(page, user)
    open_builder(page, project)
    page.get_by_label("Workflow name").fill("Case intake")
    node(page, "Job 1").click()
    page.get_by_label("Name", exact=True).fill("Fetch case")
    write_code(page, "fn(state => ({ ...state, data: { id: 7 } }));\n")
    page.get_by_role("button", name="Add next step").click()
    page.get_by_label("Name", exact=True).fill("Store case")
    write_code(page, "fn(state => state);\n")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("status").filter(has_text="Saved (version 1)").wait_for()
    assert re.search(r"/workflows/[0-9a-f-]{36}\?s=", page.url)

    page.reload()
    page.wait_for_selector("#canvas .react-flow__node")
    assert node(page, "Fetch case").count() == 1 and node(page, "Store case").count() == 1
    assert page.locator("#canvas .edge", has_text="On success").count() == 1
    assert page.locator("#canvas .node.trigger", has_text="Webhook trigger").count() == 1

    workflow = session.exec(select(Workflow).where(col(Workflow.project_id) == project.id)).one()
    public = stored(session, workflow.id)
    bodies = {job.name: job.body for job in public.jobs}
    assert bodies["Fetch case"].startswith("fn(state => ({ ...state, data: { id: 7 } }));")
    assert bodies["Store case"].startswith("fn(state => state);")
    (job_edge,) = [e for e in public.edges if e.source_job_id]
    assert job_edge.condition_type == "on_job_success"
    assert public.triggers[0].type == "webhook"

    node(page, "Fetch case").click()
    page.locator(".operations dt").first.wait_for()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "builder.png"))


def test_validation_error_is_shown_on_the_edge(page, session, user, project) -> None:
    workflow = factories.make_workflow(session, project, jobs=["a", "b"])
    sign_in(page, user)
    open_builder(page, project, workflow)
    page.get_by_role("button", name=re.compile(r"^Path: a → b")).click()
    page.get_by_label("Condition").select_option("js_expression")
    page.get_by_role("button", name="Save").click()
    page.locator("#problems").filter(has_text="js_expression edge needs").wait_for()
    edge = page.locator("#canvas .edge.has-error")
    edge.wait_for()  # the diagram redraws a moment after the answer
    assert edge.count() == 1 and "a to b" in (edge.get_attribute("aria-label") or "")
    assert "needs a condition_expression" in page.locator("#inspector .alert").inner_text()
    assert stored(session, workflow.id).lock_version == 1  # nothing was saved


def test_dragged_position_persists(page, session, user, project) -> None:
    workflow = factories.make_workflow(session, project, jobs=["a", "b"])
    b_id = str(next(j.id for j in workflow.jobs if j.name == "b"))
    sign_in(page, user)
    open_builder(page, project, workflow)
    box = node(page, "b").bounding_box()
    page.mouse.move(box["x"] + 40, box["y"] + 20)
    page.mouse.down()
    page.mouse.move(box["x"] + 160, box["y"] + 60, steps=8)
    page.mouse.up()
    page.get_by_role("button", name="Save").click()
    page.get_by_role("status").filter(has_text="Saved (version 2)").wait_for()
    positions = stored(session, workflow.id).positions
    assert set(positions) >= {b_id, str(workflow.triggers[0].id)}  # every node was fixed
    moved = positions[b_id]
    a_pos = positions[str(workflow.jobs[0].id)]
    assert moved["x"] - a_pos["x"] > 50  # b now sits to the right of a

    page.reload()
    page.wait_for_selector("#canvas .react-flow__node")
    assert node_position(page, "b") == (moved["x"], moved["y"])


def test_shareable_url_selects_the_step(page, session, user, project) -> None:
    workflow = factories.make_workflow(session, project, jobs=["a", "b"])
    a_id, b_id = (str(j.id) for j in workflow.jobs)
    sign_in(page, user)
    open_builder(page, project, workflow, f"?s={b_id}")
    assert page.locator("#inspector h2").inner_text() == "Step: b"
    expect(node(page, "b")).to_have_class(re.compile(r"\bselected\b"))
    node(page, "a").click()
    page.wait_for_url(re.compile(f"s={a_id}"))
    assert page.locator("#inspector h2").inner_text() == "Step: a"


def test_viewer_sees_no_edit_controls(page, session, user, project) -> None:
    workflow = factories.make_workflow(session, project, jobs=["a", "b"])
    viewer = factories.make_user(session)
    factories.add_member(session, project, viewer, Role.VIEWER)
    sign_in(page, viewer)
    open_builder(page, project, workflow, f"?s={workflow.jobs[0].id}")
    for name in ("Save", "Add step", "Auto layout", "Run…", "Add next step", "Remove step"):
        assert page.get_by_role("button", name=name).count() == 0, name
    assert page.locator("#inspector input, #inspector select, #inspector textarea").count() == 0
    assert page.locator("#inspector .cm-content").get_attribute("contenteditable") == "false"
    assert "(read only)" in page.locator("h1").inner_text()
    status = page.evaluate(
        """async (url) => (await fetch(url, {method: 'PUT', headers: {
            'Content-Type': 'application/json',
            'X-CSRF-Token': document.querySelector('meta[name=csrf-token]').content},
            body: JSON.stringify({document: {name: 'hijacked'}})})).status""",
        f"/projects/{project.id}/builder/workflows/{workflow.id}",
    )
    assert status == 403
    assert stored(session, workflow.id).name == workflow.name


def test_run_button_queues_a_run(page, session, user, project) -> None:
    workflow = factories.make_workflow(session, project, jobs=["a", "b"])
    sign_in(page, user)
    open_builder(page, project, workflow)
    page.get_by_role("button", name="Run…").click()
    page.get_by_label("Custom input (JSON state)").fill(json.dumps({"data": {"case": 42}}))
    page.get_by_role("button", name="Run", exact=True).click()
    link = page.get_by_role("link", name="Open the run")
    link.wait_for()
    run_id = link.get_attribute("data-run-link")
    session.expire_all()
    run = session.get(Run, uuid.UUID(run_id))
    assert run is not None and run.state == "available" and run.priority == 0
    clip = session.get(Dataclip, run.dataclip_id)
    assert clip is not None and clip.body == {"data": {"case": 42}}
    assert link.get_attribute("href") == f"/projects/{project.id}/runs/{run_id}"


def test_compile_error_is_shown_at_its_line(page, session, user, project) -> None:
    workflow = factories.make_workflow(session, project, jobs=["a"])
    sign_in(page, user)
    open_builder(page, project, workflow, f"?s={workflow.jobs[0].id}")
    write_code(page, "fn(state => state);\nfn(state => {\n")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("status").filter(has_text="1 compile warning").wait_for()
    warning = page.locator("#inspector .warning").inner_text()
    assert "Line 3" in warning or "Line 2" in warning
    assert page.locator("#inspector .cm-lint-marker-warning").count() == 1
    expect(node(page, "a")).to_have_class(re.compile(r"\bhas-warning\b"))


def test_keyboard_selects_and_moves_a_step(page, session, user, project) -> None:
    workflow = factories.make_workflow(session, project, jobs=["a"])
    a_id = str(workflow.jobs[0].id)
    sign_in(page, user)
    open_builder(page, project, workflow)
    node(page, "a").focus()
    page.keyboard.press("Enter")
    assert page.locator("#inspector h2").inner_text() == "Step: a"
    before = node_position(page, "a")
    page.keyboard.press("Shift+ArrowRight")  # 20 units; an arrow alone moves 5
    page.keyboard.press("Shift+ArrowRight")
    assert node_position(page, "a") == (before[0] + 40, before[1])
    assert page.evaluate("document.activeElement.dataset.id") == a_id
    page.keyboard.press("Control+s")
    page.get_by_role("status").filter(has_text="Saved (version 2)").wait_for()
    trigger_x = stored(session, workflow.id).positions[str(workflow.triggers[0].id)]["x"]
    assert stored(session, workflow.id).positions[a_id]["x"] == trigger_x + 40


def test_versions_panel_compares_and_restores(page, session, user, project) -> None:
    workflow = factories.make_workflow(session, project, jobs={"a": "fn(s => s);"})
    sign_in(page, user)
    open_builder(page, project, workflow, f"?s={workflow.jobs[0].id}")
    write_code(page, "fn(s => ({ ...s, v: 2 }));")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("status").filter(has_text="Saved (version 2)").wait_for()
    page.get_by_role("button", name="Versions").click()
    page.get_by_role("button", name="Compare").click()
    assert "v: 2" in page.locator(".diff").inner_text()
    page.get_by_role("button", name="Restore").click()  # the confirm dialog is accepted
    page.wait_for_url(re.compile(rf"/workflows/{workflow.id}$"))
    restored = stored(session, workflow.id)
    assert restored.lock_version == 3 and restored.jobs[0].body == "fn(s => s);"
