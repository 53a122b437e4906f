"""The builder's diagram (React Flow) in chromium: drawing paths by dragging, undo/redo,
zoom, pan and fit on a big workflow, the keyboard, and the code editor's wrapping."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests import factories
from tests.ui_extension.builder.test_builder_browser import (
    node,
    open_builder,
    sign_in,
    stored,
    write_code,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def centre(locator: Any) -> tuple[float, float]:
    box = locator.bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def drag(page: Any, start: tuple[float, float], end: tuple[float, float]) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=12)
    page.mouse.up()


def trigger(page: Any) -> Any:
    return page.locator("#canvas").get_by_role("button", name=re.compile(r"^Trigger: Webhook"))


def edges_by_name(session: Any, workflow_id: Any) -> set[tuple[str, str, str]]:
    public = stored(session, workflow_id)
    names = {j.id: j.name for j in public.jobs}
    return {
        (names.get(e.source_job_id, "trigger"), names[e.target_job_id], e.condition_type)
        for e in public.edges
    }


def inside(inner: dict[str, float], outer: dict[str, float]) -> bool:
    return (
        inner["x"] >= outer["x"] - 1
        and inner["y"] >= outer["y"] - 1
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 1
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + 1
    )


def test_drag_from_a_handle_draws_paths_that_are_saved(page, session, user, project) -> None:
    workflow = factories.make_workflow(
        session, project, jobs=["a", "b", "c"], edges=[("trigger", "a")]
    )
    sign_in(page, user)
    open_builder(page, project, workflow)
    # step -> step: from a's handle onto b's target handle
    a_out = node(page, "a").locator(".react-flow__handle.source")
    drag(page, centre(a_out), centre(node(page, "b").locator(".react-flow__handle.target")))
    page.locator("#canvas .edge[aria-label^='Path from a to b']").wait_for()
    # trigger -> step, dropped anywhere on the step
    drag(page, centre(trigger(page).locator(".react-flow__handle.source")), centre(node(page, "c")))
    page.locator("#canvas .edge[aria-label^='Path from Webhook trigger to c']").wait_for()
    assert page.locator("#inspector h2").inner_text() == "Path: Webhook trigger → c"
    page.get_by_role("button", name="Save").click()
    page.get_by_role("status").filter(has_text="Saved (version 2)").wait_for()
    assert edges_by_name(session, workflow.id) == {
        ("trigger", "a", "always"),
        ("a", "b", "on_job_success"),
        ("trigger", "c", "always"),
    }


def test_a_path_closing_a_cycle_is_not_drawn(page, session, user, project) -> None:
    workflow = factories.make_workflow(session, project, jobs=["a", "b"])
    sign_in(page, user)
    open_builder(page, project, workflow)
    drag(
        page, centre(node(page, "b").locator(".react-flow__handle.source")), centre(node(page, "a"))
    )
    page.wait_for_timeout(300)
    assert page.locator("#canvas .edge").count() == 2  # trigger -> a -> b only
    assert page.get_by_role("button", name="Undo").is_disabled()


def test_undo_and_redo_add_step_rename_and_code(page, session, user, project) -> None:
    workflow = factories.make_workflow(session, project, jobs={"a": "fn(s => s);"})
    sign_in(page, user)
    open_builder(page, project, workflow)
    undo, redo = page.get_by_role("button", name="Undo"), page.get_by_role("button", name="Redo")
    assert undo.is_disabled() and redo.is_disabled()

    page.get_by_role("button", name="Add step").click()
    node(page, "Job 2").wait_for()
    undo.click()
    node(page, "Job 2").wait_for(state="detached")
    redo.click()
    node(page, "Job 2").wait_for()

    node(page, "a").click()
    page.locator("#inspector").get_by_label("Name", exact=True).fill("Fetch cases")
    assert page.locator("#inspector h2").inner_text() == "Step: Fetch cases"  # at once
    node(page, "Fetch cases").wait_for()
    write_code(page, "fn(s => ({ ...s, fetched: true }));")

    undo.click()  # the code
    page.locator("#inspector .cm-content", has_text="fn(s => s);").wait_for()
    undo.click()  # the name
    node(page, "a").wait_for()
    assert page.locator("#inspector h2").inner_text() == "Step: a"
    node(page, "a").focus()
    page.keyboard.press("Control+Shift+Z")  # redo the name
    node(page, "Fetch cases").wait_for()
    page.keyboard.press("Control+y")  # redo the code
    page.locator("#inspector .cm-content", has_text="fetched: true").wait_for()
    page.keyboard.press("Control+z")
    page.locator("#inspector .cm-content", has_text="fn(s => s);").wait_for()

    page.get_by_role("button", name="Save").click()
    page.get_by_role("status").filter(has_text="Saved (version 2)").wait_for()
    public = stored(session, workflow.id)
    assert {j.name: j.body.strip() for j in public.jobs} == {
        "Fetch cases": "fn(s => s);",
        "Job 2": "fn(state => state);",
    }
    assert undo.is_disabled()  # the history ends at a save


def test_fifty_steps_zoom_pan_and_fit(page, session, user, project) -> None:
    names = [f"step {i:02d}" for i in range(1, 51)]
    workflow = factories.make_workflow(session, project, jobs=names)
    sign_in(page, user)
    open_builder(page, project, workflow)
    canvas = page.locator("#canvas").bounding_box()
    steps = page.locator("#canvas .react-flow__node.job")
    assert steps.count() == 50
    fitted = [steps.nth(i).bounding_box() for i in range(50)]
    assert all(inside(box, canvas) for box in fitted)  # the page opens with everything in view

    viewport = page.locator(".react-flow__viewport")
    before = viewport.get_attribute("style")
    for _ in range(4):
        page.get_by_role("button", name="Zoom In").click()
    assert viewport.get_attribute("style") != before
    last = node(page, "step 50")
    assert not inside(last.bounding_box(), canvas)  # zoomed in: the end is out of view

    pane = page.locator("#canvas .react-flow__pane")
    x, y = canvas["x"] + canvas["width"] - 30, canvas["y"] + canvas["height"] - 30
    shifted = viewport.get_attribute("style")
    drag(page, (x, y), (x - 120, y - 200))  # pan by dragging the background
    assert viewport.get_attribute("style") != shifted and pane.count() == 1

    page.get_by_role("navigation", name="Triggers, steps and paths").get_by_role(
        "button", name="Step: step 50", exact=True
    ).click()
    page.wait_for_timeout(400)  # the view glides to the selected step
    page.locator("#canvas").scroll_into_view_if_needed()  # the click scrolled the page to the list
    canvas = page.locator("#canvas").bounding_box()
    assert inside(last.bounding_box(), canvas)
    assert page.locator("#inspector h2").inner_text() == "Step: step 50"

    page.get_by_role("button", name="Fit View").click()
    page.wait_for_timeout(400)
    assert all(inside(steps.nth(i).bounding_box(), canvas) for i in range(50))


def test_keyboard_tab_enter_and_delete(page, session, user, project) -> None:
    workflow = factories.make_workflow(session, project, jobs=["a", "b"])
    messages: list[str] = []
    page.on("dialog", lambda dialog: messages.append(dialog.message))  # accepted by the fixture
    sign_in(page, user)
    open_builder(page, project, workflow)
    page.get_by_label("Workflow name").focus()
    for _ in range(40):
        page.keyboard.press("Tab")
        label = page.evaluate("document.activeElement.getAttribute('aria-label') || ''")
        if label.startswith("Step: b"):
            break
    else:
        pytest.fail("Tab never reached the step b")
    page.keyboard.press("Enter")
    assert page.locator("#inspector h2").inner_text() == "Step: b"
    page.keyboard.press("Delete")
    node(page, "b").wait_for(state="detached")
    assert messages == ["Remove the step b and its paths?"]
    node(page, "a").focus()
    page.keyboard.press("Control+s")
    page.get_by_role("status").filter(has_text="Saved (version 2)").wait_for()
    public = stored(session, workflow.id)
    assert [j.name for j in public.jobs] == ["a"] and len(public.edges) == 1


def test_code_editor_wraps_long_lines(page, session, user, project) -> None:
    long_line = (
        "fn(state => ({ ...state, " + ", ".join(f"field{i}: {i}" for i in range(60)) + " }));"
    )
    workflow = factories.make_workflow(session, project, jobs={"a": long_line})
    sign_in(page, user)
    open_builder(page, project, workflow, f"?s={workflow.jobs[0].id}")
    content = page.locator("#inspector .cm-content")
    assert "cm-lineWrapping" in (content.get_attribute("class") or "")
    scroller = page.locator("#inspector .cm-scroller")
    width = scroller.evaluate("el => [el.scrollWidth, el.clientWidth]")
    assert width[0] <= width[1] + 1, width  # no horizontal scrolling
    assert content.bounding_box()["height"] > 60  # the one line takes several rows


def test_undo_a_condition_change_and_a_deleted_path(page, session, user, project) -> None:
    workflow = factories.make_workflow(session, project, jobs=["a", "b"])
    sign_in(page, user)
    open_builder(page, project, workflow)
    path = page.locator("#canvas .edge[aria-label^='Path from a to b']")
    path.click()
    page.get_by_label("Condition").select_option("on_job_failure")
    page.locator("#canvas .edge", has_text="On failure").wait_for()
    page.get_by_role("button", name="Undo").click()
    page.locator("#canvas .edge", has_text="Always").nth(1).wait_for()  # trigger -> a, a -> b

    path.focus()
    page.keyboard.press("Delete")  # confirmed by the fixture
    path.wait_for(state="detached")
    page.keyboard.press("Control+z")
    path.wait_for()
    page.get_by_role("button", name="Save").click()
    page.get_by_role("status").filter(has_text="Saved (version 2)").wait_for()
    assert edges_by_name(session, workflow.id) == {("trigger", "a", "always"), ("a", "b", "always")}
