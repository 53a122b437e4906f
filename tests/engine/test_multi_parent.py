"""Several edges into one job through the whole engine: the job runs once for each
incoming edge that fires, each time with that parent's output (OpenFn's runtime)."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from lightning_flows.runs.models import Dataclip
from tests import factories
from tests.support.runs import steps_of, wait_for_run

pytestmark = pytest.mark.slow


def test_a_job_with_two_parents_runs_once_per_parent(session: Session, project, worker) -> None:
    wf = factories.make_workflow(
        session,
        project,
        jobs={
            "receive": "fn(state => state);",
            "left": "fn(state => ({ ...state, via: 'left' }));",
            "right": "fn(state => ({ ...state, via: 'right' }));",
            "report": "fn(state => ({ ...state, reported: state.via }));",
        },
        edges=[
            ("trigger", "receive"),
            ("receive", "left"),
            ("receive", "right"),
            ("left", "report"),
            ("right", "report"),
        ],
    )
    run = wait_for_run(session, factories.make_run(session, wf, {"case": 1}).run.id)
    assert run.state == "success"
    reports = [s for s in steps_of(session, run.id) if s.job_id == _job(wf, "report")]
    outputs = sorted(session.get(Dataclip, s.output_dataclip_id).body["reported"] for s in reports)
    assert outputs == ["left", "right"]


def _job(wf, name: str):
    return next(j.id for j in wf.jobs if j.name == name)
