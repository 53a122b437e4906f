"""Failing data becomes test data, in a real browser: keep a step's input from the run
page, pick it in the Run dialog, run one step on it with unsaved code, and run the test
cases on the unsaved workflow with a diff for each failure."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session

from lightning_flows.runs import dataclips
from lightning_flows.runs.models import Dataclip, DataclipType, Step
from lightning_flows.testing import service as test_cases
from lightning_flows.testing.schemas import TestCaseWrite
from lightning_flows.workflows.models import Workflow
from tests import factories
from tests.ui_extension.builder.conftest import SCREENSHOTS, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DOUBLE = "fn(state => ({ ...state, data: { id: state.data.id, double: state.data.id * 2 } }));"
TRIPLE = DOUBLE.replace("* 2", "* 3")


def _write_code(page: Any, text: str) -> None:
    page.locator("#inspector .cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(text)


def _open_step(page: Any, project: Any, workflow: Any, job: Any) -> None:
    page.goto(f"/projects/{project.id}/workflows/{workflow.id}?s={job.id}")
    page.locator("#inspector-body h2", has_text="Step: double").wait_for()


def _workflow_with_named_input(session: Session, project: Any) -> tuple[Any, Any]:
    workflow = factories.make_workflow(session, project, jobs={"double": DOUBLE})
    clip_id = factories.make_run(session, workflow, {"id": 5}).work_order.dataclip_id
    clip = session.get(Dataclip, clip_id)
    assert clip is not None
    dataclips.set_name(session, clip, "order 5")
    return workflow, clip


def test_keep_a_step_input_from_the_run_page(page, session, user, project) -> None:
    workflow = factories.make_workflow(session, project, jobs={"double": DOUBLE})
    enqueued = factories.make_run(session, workflow, {"id": 8})
    output = Dataclip(
        project_id=project.id, type=DataclipType.STEP_RESULT.value, body={"data": {"double": 16}}
    )
    session.add(output)
    session.flush()
    session.add(
        Step(
            run_id=enqueued.run.id,
            job_id=workflow.jobs[0].id,
            exit_reason="success",
            input_dataclip_id=enqueued.work_order.dataclip_id,
            output_dataclip_id=output.id,
        )
    )
    session.commit()
    sign_in(page, user)
    page.goto(f"/projects/{project.id}/runs/{enqueued.run.id}")

    page.get_by_label("Keep as test input").first.fill("order 8 fails")
    page.get_by_role("button", name="Keep").first.click()

    page.get_by_label("Kept as").first.wait_for()
    assert page.get_by_label("Kept as").first.input_value() == "order 8 fails"
    page.locator("section", has=page.get_by_label("Kept as").first).last.screenshot(
        path=str(SCREENSHOTS / "run-keep-input.png")
    )
    session.expire_all()
    kept = session.get(Dataclip, enqueued.work_order.dataclip_id)
    assert kept is not None and kept.name == "order 8 fails"


def test_pick_a_named_input_and_run_one_step_with_unsaved_code(
    page, session, user, project
) -> None:
    workflow, _clip = _workflow_with_named_input(session, project)
    job = workflow.jobs[0]
    sign_in(page, user)
    _open_step(page, project, workflow, job)

    page.get_by_role("button", name="Run…").click()
    dialog = page.locator("#run-dialog")
    dialog.get_by_label("A named or previous input").check()
    dialog.get_by_label("Named or previous input", exact=True).select_option(label="Named: order 5")
    dialog.get_by_role("button", name="Run", exact=True).click()
    dialog.get_by_text("Run queued.").wait_for()
    dialog.get_by_role("button", name="Close").click()

    _write_code(
        page,
        TRIPLE + "\nfn(state => { console.log('tripled', state.data.double); return state; });",
    )
    panel = page.locator(".step-run")
    panel.get_by_label("Input for this step").select_option(label="Named: order 5")
    panel.get_by_role("button", name="Run step").click()

    output = panel.locator("[data-step-output]")
    output.wait_for()
    assert '"double": 15' in output.inner_text()
    assert "tripled 15" in panel.locator("[data-step-logs]").inner_text()
    assert panel.locator("[data-step-exit]").get_attribute("data-step-exit") == "success"
    assert page.locator("#save-status").inner_text() == "Unsaved changes."
    panel.screenshot(path=str(SCREENSHOTS / "builder-run-step.png"))
    session.expire_all()
    assert session.get(Workflow, workflow.id).lock_version == 1  # nothing saved


def test_run_test_cases_on_the_unsaved_workflow_and_see_a_diff(
    page, session, user, project
) -> None:
    workflow, _clip = _workflow_with_named_input(session, project)
    row = session.get(Workflow, workflow.id)
    test_cases.save_case(
        session,
        row,
        TestCaseWrite(name="doubles", input="order 5", expected_data={"id": 5, "double": 10}),
    )
    sign_in(page, user)
    _open_step(page, project, workflow, workflow.jobs[0])
    page.get_by_role("button", name="Test cases").click()
    panel = page.locator("#test-cases-panel")
    panel.get_by_text("doubles", exact=True).wait_for()

    panel.get_by_label("Name", exact=True).fill("asserts")
    panel.get_by_label("Named input").select_option(label="order 5")
    panel.get_by_label("Assertion (JS on the final state)").fill("state.data.double === 10")
    panel.get_by_role("button", name="Add test case").click()
    panel.get_by_text("Saved “asserts”.").wait_for()

    _write_code(page, TRIPLE)
    panel.get_by_role("button", name="Run test cases on this draft").click()
    panel.get_by_text("0 passed, 2 failed.").wait_for()
    diff = panel.locator('[data-case="doubles"] pre.diff').inner_text()
    assert '-  "double": 10,' in diff and '+  "double": 15,' in diff
    assert "The assertion is false" in panel.locator('[data-case="asserts"]').inner_text()
    page.screenshot(path=str(SCREENSHOTS / "builder-test-cases.png"))

    _write_code(page, DOUBLE)
    panel.get_by_role("button", name="Run test cases on this draft").click()
    panel.get_by_text("2 passed, 0 failed.").wait_for()
