"""Running test cases: each case's named input through the whole workflow (saved or a
draft), then its final state's `data` against `expected_data` and its `assertion`."""

from __future__ import annotations

import difflib
import json
import uuid
from typing import Any

from sqlmodel import Session, col, select

from adaptor_tasks import AdaptorTasksError
from lightning_flows.core.errors import DomainError
from lightning_flows.core.node_runtime import get_pool
from lightning_flows.engine.context import initial_state
from lightning_flows.engine.local import LocalRun
from lightning_flows.runs.manual import default_start
from lightning_flows.runs.models import Dataclip
from lightning_flows.testing.execution import execute, log_lines
from lightning_flows.testing.models import WorkflowTestCase
from lightning_flows.testing.schemas import CaseResult, TestRunResult
from lightning_flows.workflows import service as workflows
from lightning_flows.workflows.models import Workflow, WorkflowSnapshot


def json_diff(expected: Any, actual: Any) -> str:
    """A unified diff of two JSON values, pretty-printed with sorted keys."""

    def lines(value: Any) -> list[str]:
        return json.dumps(value, indent=2, sort_keys=True, default=str).splitlines()

    return "\n".join(
        difflib.unified_diff(
            lines(expected), lines(actual), "expected data", "actual data", lineterm=""
        )
    )


def json_equal(a: Any, b: Any) -> bool:
    """Deep equality of JSON values as JavaScript sees them: `true` is not `1`,
    `1` is `1.0`, object key order does not matter."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict | list) or isinstance(b, dict | list):
        return False
    return bool(a == b)


def _final_state(run: LocalRun) -> dict[str, Any] | None:
    state = run.walk.final_state
    if run.walk.state not in ("success", "failed") or not isinstance(state, dict):
        return None
    return {k: v for k, v in state.items() if k != "configuration"}


def _check(case: WorkflowTestCase, run: LocalRun) -> CaseResult:
    final = _final_state(run)
    problems: list[str] = []
    diff = None
    if final is None:
        problems.append(
            f"The run ended {run.walk.state}: {run.walk.error_type or ''} "
            f"{run.walk.error_message or ''}".strip()
        )
    else:
        if run.walk.state == "failed" and run.failed_step:
            problems.append(f"Step '{run.failed_step}' failed (the run ended failed).")
        if case.has_expected_data and not json_equal(final.get("data"), case.expected_data):
            diff = json_diff(case.expected_data, final.get("data"))
            problems.append("The final state's data differs from the expected data.")
        if case.assertion:
            try:
                if not get_pool().evaluate_condition(case.assertion, final):
                    problems.append(f"The assertion is false: {case.assertion}")
            except AdaptorTasksError as exc:
                problems.append(f"The assertion threw: {exc}")
    return CaseResult(
        name=case.name,
        workflow="",
        passed=not problems,
        problems=problems,
        diff=diff,
        output=final,
        logs=log_lines(run),  # type: ignore[arg-type]
    )


def run_case(
    session: Session, workflow: Workflow, document: dict[str, Any], case: WorkflowTestCase
) -> CaseResult:
    """One case through `document` (a snapshot-shaped workflow)."""
    clip = session.get(Dataclip, case.input_dataclip_id) if case.input_dataclip_id else None
    if clip is None or clip.wiped_at is not None:
        return CaseResult(
            name=case.name,
            workflow=workflow.name,
            passed=False,
            problems=["Its input dataclip is gone: give the test case another input."],
        )
    state = initial_state(clip)
    try:
        trigger_id, job_id = default_start(_snapshot_like(document))
        run = execute(
            session,
            workflow.project_id,
            document,
            state,
            trigger_id=str(trigger_id) if trigger_id else None,
            job_id=str(job_id) if job_id else None,
        )
    except DomainError as exc:
        return CaseResult(
            name=case.name, workflow=workflow.name, passed=False, problems=[exc.message]
        )
    result = _check(case, run)
    result.workflow = workflow.name
    return result


def _snapshot_like(document: dict[str, Any]) -> WorkflowSnapshot:
    return WorkflowSnapshot(workflow_id=uuid.uuid4(), lock_version=0, name="", document=document)


def run_cases(
    session: Session, workflow: Workflow, document: dict[str, Any] | None = None
) -> list[CaseResult]:
    """Every test case of the workflow through `document`, or its latest saved version."""
    cases = list(
        session.exec(
            select(WorkflowTestCase)
            .where(WorkflowTestCase.workflow_id == workflow.id)
            .order_by(col(WorkflowTestCase.name))
        ).all()
    )
    if document is None and cases:
        document = workflows.latest_snapshot(session, workflow.id).document
    return [run_case(session, workflow, document or {}, case) for case in cases]


def summary(results: list[CaseResult]) -> TestRunResult:
    passed = sum(1 for r in results if r.passed)
    return TestRunResult(passed=passed, failed=len(results) - passed, results=results)


def run_project(session: Session, project_id: uuid.UUID) -> TestRunResult:
    """Every test case of every live workflow of the project, on the saved versions."""
    live = session.exec(
        select(Workflow)
        .where(Workflow.project_id == project_id, col(Workflow.deleted_at).is_(None))
        .order_by(col(Workflow.name))
    ).all()
    results: list[CaseResult] = []
    for workflow in live:
        results += run_cases(session, workflow)
    return summary(results)
