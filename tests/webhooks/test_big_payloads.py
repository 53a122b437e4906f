"""Big payloads end to end (issue 13): a webhook body near the 10 MB limit runs through
a 3-step workflow whose steps grow the state; the step whose output passes the
per-step state limit ends `kill` with a clear reason, the run ends `killed` (never
lost or stuck), and its history answers stay small and fast."""

from __future__ import annotations

import time
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from lightning_flows.core.config import get_settings
from lightning_flows.runs.models import Run
from lightning_flows.webhooks.lookup import clear_cache
from tests import factories
from tests.support.runs import steps_of, wait_for_run

pytestmark = pytest.mark.slow
MB = 1_000_000


def _grow(name: str, extra_bytes: int) -> str:
    return f"fn(s => ({{ ...s, data: {{ ...s.data, {name}: 'x'.repeat({extra_bytes}) }} }}));"


@pytest.fixture(autouse=True)
def _fresh_lookup_cache():
    clear_cache()
    yield
    clear_cache()


def _send(client: TestClient, session: Session, project, body_bytes: int, grow: int) -> Run:
    wf = factories.make_workflow(
        session,
        project,
        jobs={"one": _grow("one", grow), "two": _grow("two", grow), "three": _grow("three", grow)},
    )
    raw = b'{"blob": "' + b"y" * (body_bytes - 12) + b'"}'
    assert len(raw) <= get_settings().webhook_max_body_bytes
    started = time.monotonic()
    answer = client.post(
        f"/i/{wf.triggers[0].id}", content=raw, headers={"content-type": "application/json"}
    )
    intake = time.monotonic() - started
    assert answer.status_code == 200, answer.text[:300]
    assert intake < 30, f"intake of {len(raw):,} bytes took {intake:.1f}s"
    return wait_for_run(session, uuid.UUID(answer.json()["run_id"]), timeout=240)


def test_a_step_passing_the_state_limit_is_killed_with_a_clear_reason(
    client: TestClient, session: Session, project, auth: dict, worker
) -> None:
    limit = get_settings().state_limit_bytes
    run = _send(client, session, project, body_bytes=9 * MB, grow=int(0.6 * MB))

    assert run.state == "killed"
    steps = {s.exit_reason: s for s in steps_of(session, run.id)}
    assert set(steps) == {"success", "kill"}  # one grew past the limit, three never ran
    killed = steps["kill"]
    assert killed.error_type == "StateTooLargeError"
    assert f"State exceeds the limit of {limit} bytes" in (killed.error_message or "")

    started = time.monotonic()
    detail = client.get(f"/api/runs/{run.id}", headers=auth)
    assert detail.status_code == 200 and len(detail.content) < 100_000
    history = client.get(f"/api/projects/{project.id}/work_orders", headers=auth)
    assert history.status_code == 200 and len(history.content) < 100_000
    assert time.monotonic() - started < 5


def test_a_megabyte_body_runs_through_three_growing_steps(
    client: TestClient, session: Session, project, worker
) -> None:
    run = _send(client, session, project, body_bytes=1 * MB, grow=100_000)
    assert run.state == "success"
    assert [s.exit_reason for s in steps_of(session, run.id)] == ["success"] * 3
