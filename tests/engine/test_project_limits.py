"""A project's own per-step limits, below the instance's, apply to its steps."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from lightning_flows.projects.models import Project
from tests import factories
from tests.support.runs import steps_of, wait_for_run

pytestmark = pytest.mark.slow


def test_a_project_state_limit_kills_a_step_returning_more(
    session: Session, project, worker
) -> None:
    row = session.get(Project, project.id)
    row.state_limit_bytes = 2048
    session.add(row)
    session.commit()
    big = "fn(s => ({ ...s, data: 'x'.repeat(10000) }));"
    wf = factories.make_workflow(session, project, jobs={"big": big, "small": "fn(s => s);"})
    run = wait_for_run(session, factories.make_run(session, wf, {}).run.id)
    assert run.state == "killed"
    [step] = steps_of(session, run.id)
    assert step.exit_reason == "kill"


HUNGRY = """fn(s => {
  const chunks = [];
  for (let i = 0; i < 100; i++) chunks.push(new Array(250000).fill(i));
  return { ...s, data: { chunks: chunks.length } };
});"""
"""About 200 MB of live heap: over a 64 MB project limit, under the instance's 500 MB."""


def test_a_project_memory_limit_kills_a_step_using_more(session: Session, project, worker) -> None:
    wf = factories.make_workflow(session, project, jobs={"hungry": HUNGRY})
    before = wait_for_run(session, factories.make_run(session, wf, {}).run.id)
    assert before.state == "success"

    row = session.get(Project, project.id)
    row.step_memory_limit_mb = 64
    session.add(row)
    session.commit()
    run = wait_for_run(session, factories.make_run(session, wf, {}).run.id, timeout=120)
    assert run.state == "killed"
    [step] = steps_of(session, run.id)
    assert step.exit_reason == "kill"
    assert "ran out of memory (limit 64 MB)" in (step.error_message or "")
