"""Work for a topology, sent the way users send it: a project provisioned through the
API, webhooks posted to the API host, and the outcome read from the platform database."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import yaml

ADAPTOR = "@openfn/language-common@3.3.4"  # installed with the project: no network needed
QUICK_STEP = "fn(state => ({ ...state, data: { n: (state.data.n || 0) + 1 } }));"


def slow_step(ms: int) -> str:
    """A step that takes `ms` milliseconds (long enough to cut a host mid-run)."""
    return (
        f"fn(state => new Promise(done => setTimeout(() => "
        f"done({{ ...state, data: {{ n: (state.data.n || 0) + 1 }} }}), {ms})));"
    )


@dataclass(frozen=True)
class Chain:
    """A provisioned workflow of steps in a row behind a webhook (and maybe a cron)."""

    project_id: uuid.UUID
    workflow_id: uuid.UUID
    trigger_id: uuid.UUID
    cron_trigger_id: uuid.UUID | None


def chain_project(name: str, bodies: list[str], cron: str | None = None) -> str:
    """The project.yaml of one workflow: webhook -> step 1 -> ... -> step n."""
    jobs = {
        f"step-{i + 1}": {"name": f"step {i + 1}", "adaptor": ADAPTOR, "body": body}
        for i, body in enumerate(bodies)
    }
    triggers: dict[str, Any] = {"webhook": {"type": "webhook", "enabled": True}}
    edges: dict[str, Any] = {
        "webhook->step-1": {
            "source_trigger": "webhook",
            "target_job": "step-1",
            "condition_type": "always",
        }
    }
    if cron:
        triggers["cron"] = {"type": "cron", "cron_expression": cron, "enabled": True}
        edges["cron->step-1"] = {
            "source_trigger": "cron",
            "target_job": "step-1",
            "condition_type": "always",
        }
    for i in range(1, len(bodies)):
        edges[f"step-{i}->step-{i + 1}"] = {
            "source_job": f"step-{i}",
            "target_job": f"step-{i + 1}",
            "condition_type": "on_job_success",
        }
    workflow = {"name": name, "jobs": jobs, "triggers": triggers, "edges": edges}
    return yaml.safe_dump({"name": name, "workflows": {name: workflow}}, sort_keys=False)


def provision_chain(api_url: str, token: str, bodies: list[str], cron: str | None = None) -> Chain:
    """Provision a chain workflow over the API (as `lightning-flows deploy` does)."""
    name = f"chain-{uuid.uuid4().hex[:6]}"
    response = httpx.post(
        f"{api_url}/api/provision",
        content=chain_project(name, bodies, cron),
        headers={"Authorization": f"Bearer {token.strip()}", "Content-Type": "application/yaml"},
        timeout=60,
    )
    response.raise_for_status()
    project = response.json()["data"]
    (workflow,) = project["workflows"]
    triggers = {t["type"]: uuid.UUID(t["id"]) for t in workflow["triggers"]}
    return Chain(
        uuid.UUID(project["id"]),
        uuid.UUID(workflow["id"]),
        triggers["webhook"],
        triggers.get("cron"),
    )


def post_webhook(client: httpx.Client, api_url: str, trigger_id: uuid.UUID, n: int) -> uuid.UUID:
    """One webhook; the run id the platform acknowledged (raises on anything but 200)."""
    response = client.post(f"{api_url}/i/{trigger_id}", json={"n": n}, timeout=30)
    response.raise_for_status()
    return uuid.UUID(response.json()["run_id"])


def run_states(database_url: str, run_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Each run's state, read from the platform database."""
    import psycopg

    with psycopg.connect(_dsn(database_url), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT id, state FROM runs WHERE id = ANY(%s)", ([str(r) for r in run_ids],)
        ).fetchall()
    return {uuid.UUID(str(r[0])): str(r[1]) for r in rows}


def wait_finished(
    database_url: str, run_ids: list[uuid.UUID], timeout: float = 120
) -> dict[uuid.UUID, str]:
    """Wait until every run is final; their states (raises with the stragglers on timeout)."""
    final = {"success", "failed", "crashed", "cancelled", "killed", "exception", "lost"}
    deadline = time.monotonic() + timeout
    while True:
        states = run_states(database_url, run_ids)
        if len(states) == len(run_ids) and all(s in final for s in states.values()):
            return states
        if time.monotonic() > deadline:
            waiting = {k: v for k, v in states.items() if v not in final}
            raise TimeoutError(f"{len(waiting)} run(s) not finished: {waiting}")
        time.sleep(0.25)


def query(database_url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of a read-only query on the platform database (checks and benchmarks)."""
    import psycopg

    with psycopg.connect(_dsn(database_url), autocommit=True) as conn:
        return [tuple(r) for r in conn.execute(sql, params).fetchall()]  # type: ignore[arg-type]


def _dsn(database_url: str) -> str:
    return database_url.replace("postgresql+psycopg://", "postgresql://")
