"""Bulk retry benchmark: 10,000 failed work orders queued again, while webhooks keep coming.

Creates a fresh PostgreSQL database (dropped at the end), migrates it, makes a user,
a project and a two-step workflow through the platform's services, and writes
`--work-orders` failed work orders (input dataclip, work order, a failed run) in bulk.
Serves the app with uvicorn (one process, no worker: only the queuing is timed), then:

1. sends webhooks for a few seconds from `--senders` threads (intake alone),
2. `POST /api/projects/{id}/work_orders/retry {"filter": {"status": ["failed"]}}` and polls
   `GET .../retry_batches/{id}` until every work order is queued, while the same
   webhook load goes on (intake during the bulk retry).

    .venv/bin/python benchmarks/bulk_retry.py [--work-orders 10000] [--senders 4]

Writes benchmarks/results/bulk-retry-<date>.md (machine, date, load average).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from history import _free_port, machine, serve, stop  # noqa: E402

KEY = "qWlVLzBmHZsIqfcIiJ0yO5IDBwZrHAwU8hVgQm4f0Jg="


def log(message: str) -> None:
    print(f"[bulk-retry-bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def seed(work_orders: int) -> dict[str, Any]:
    """A user (and token), a project, a workflow, and `work_orders` failed work orders."""
    from sqlalchemy import insert

    from lightning_flows.accounts import service as accounts
    from lightning_flows.accounts.schemas import UserCreate
    from lightning_flows.core import migrate
    from lightning_flows.core.config import get_settings
    from lightning_flows.core.db import session_scope
    from lightning_flows.projects import service as projects
    from lightning_flows.projects.schemas import ProjectCreate
    from lightning_flows.runs import rows
    from lightning_flows.runs.models import Dataclip, DataclipType, Run, WorkOrder
    from lightning_flows.runs.states import RunState
    from lightning_flows.workflows import service as workflows
    from lightning_flows.workflows.schemas import EdgeDoc, JobDoc, TriggerDoc, WorkflowDocument

    migrate.upgrade(get_settings().resolved_database_url)
    with session_scope() as session:
        user = accounts.create_user(
            session, UserCreate(email="bench@example.org", password=uuid.uuid4().hex)
        )
        _token, token = accounts.create_api_token(session, user, "bench")
        project = projects.create_project(session, ProjectCreate(name="bench"), user)
        trigger, a, b = TriggerDoc(id=uuid.uuid4(), type="webhook"), uuid.uuid4(), uuid.uuid4()
        doc = WorkflowDocument(
            name="intake",
            triggers=[trigger],
            jobs=[
                JobDoc(id=a, name="a", body="fn(s => s);"),
                JobDoc(id=b, name="b", body="fn(s => s);"),
            ],
            edges=[
                EdgeDoc(id=uuid.uuid4(), source_trigger_id=trigger.id, target_job_id=a),
                EdgeDoc(id=uuid.uuid4(), source_job_id=a, target_job_id=b),
            ],
        )
        wf = workflows.create_workflow(session, project.id, doc, actor_id=user.id)
        snapshot = workflows.latest_snapshot(session, wf.id)
        start = time.monotonic()
        base = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
        for first in range(0, work_orders, 2000):
            clips, orders, runs = [], [], []
            for i in range(first, min(first + 2000, work_orders)):
                now = base + dt.timedelta(milliseconds=i)
                clip_id = uuid.uuid4()
                clips.append(
                    {
                        "id": clip_id,
                        "project_id": project.id,
                        "type": DataclipType.HTTP_REQUEST.value,
                        "body": {"data": {"case": i}},
                        "inserted_at": now,
                        "updated_at": now,
                    }
                )
                order = rows.work_order_row(
                    project_id=project.id,
                    workflow_id=wf.id,
                    snapshot_id=snapshot.id,
                    dataclip_id=clip_id,
                    trigger_id=wf.triggers[0].id,
                    now=now,
                )
                order["state"] = RunState.FAILED.value
                orders.append(order)
                run = rows.run_row(
                    work_order_id=order["id"],
                    snapshot_id=snapshot.id,
                    dataclip_id=clip_id,
                    trigger_id=wf.triggers[0].id,
                    now=now,
                )
                run.update(state=RunState.FAILED.value, started_at=now, finished_at=now)
                runs.append(run)
            session.execute(insert(Dataclip), clips)
            session.execute(insert(WorkOrder), orders)
            session.execute(insert(Run), runs)
            session.commit()
        log(f"seeded {work_orders:,} failed work orders in {time.monotonic() - start:.1f} s")
        return {"token": token, "project_id": project.id, "trigger_id": wf.triggers[0].id}


class Intake:
    """Webhook senders on threads; latencies of the accepted requests."""

    def __init__(self, url: str, senders: int) -> None:
        self.url, self.senders = url, senders
        self.latencies: list[float] = []
        self.errors = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self._stop.clear()
        self.latencies, self.errors = [], 0
        self._threads = [threading.Thread(target=self._send) for _ in range(self.senders)]
        for thread in self._threads:
            thread.start()

    def stop(self) -> dict[str, float]:
        self._stop.set()
        for thread in self._threads:
            thread.join()
        values = sorted(self.latencies)
        return {
            "requests": len(values),
            "errors": self.errors,
            "p50_ms": statistics.median(values) * 1000 if values else 0.0,
            "p99_ms": values[int(len(values) * 0.99) - 1] * 1000 if values else 0.0,
            "max_ms": values[-1] * 1000 if values else 0.0,
        }

    def _send(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set():
                began = time.perf_counter()
                answer = client.post(self.url, json={"data": {"n": 1}})
                if answer.status_code == 200:
                    self.latencies.append(time.perf_counter() - began)
                else:
                    self.errors += 1


def bulk_retry(base: str, token: str, project_id: uuid.UUID) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(timeout=120, headers=headers) as client:
        began = time.perf_counter()
        answer = client.post(
            f"{base}/api/projects/{project_id}/work_orders/retry",
            json={"filter": {"status": ["failed"]}, "from": "start"},
        )
        accepted = time.perf_counter() - began
        answer.raise_for_status()
        batch = answer.json()
        url = f"{base}/api/projects/{project_id}/retry_batches/{batch['id']}"
        while True:
            progress = client.get(url).json()
            if progress["state"] != "queuing":
                break
            time.sleep(0.1)
        return {
            "total": batch["total"],
            "accepted_s": accepted,
            "queued_s": time.perf_counter() - began,
            "progress": progress,
        }


def report(args: Any, result: dict[str, Any], alone: dict, during: dict, spec: dict) -> Path:
    today = dt.date.today().isoformat()
    path = ROOT / "benchmarks" / "results" / f"bulk-retry-{today}.md"
    p = result["progress"]
    lines = [
        f"# Bulk retry: {result['total']:,} work orders ({today})",
        "",
        "`benchmarks/bulk_retry.py`: failed work orders in PostgreSQL, retried by filter "
        "(`status=failed`, from the start) through the HTTP API of one uvicorn process, "
        "no worker (only the queuing is timed), while "
        f"{args.senders} threads send webhooks to the same process.",
        "",
        "| | |",
        "|---|---|",
        f"| work orders selected | {result['total']:,} |",
        f"| `202` answered after | {result['accepted_s'] * 1000:.0f} ms |",
        f"| all queued after | {result['queued_s']:.1f} s |",
        f"| queued / skipped | {p['queued']:,} / {p['skipped']:,} |",
        "",
        "Intake (`POST /i/{trigger}`, 1 request at a time per thread):",
        "",
        "| | requests | errors | p50 | p99 | max |",
        "|---|---|---|---|---|---|",
    ]
    for label, r in (("alone", alone), ("during the bulk retry", during)):
        lines.append(
            f"| {label} | {r['requests']:,} | {r['errors']} | {r['p50_ms']:.1f} ms | "
            f"{r['p99_ms']:.1f} ms | {r['max_ms']:.1f} ms |"
        )
    lines += ["", "## Machine", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in spec.items()]
    lines += [
        f"| date | {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC |",
        f"| load average at start | {' / '.join(f'{x:.2f}' for x in args.load)} |",
        f"| load average at end | {' / '.join(f'{x:.2f}' for x in os.getloadavg())} |",
        "",
    ]
    path.write_text("\n".join(lines))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work-orders", type=int, default=10_000)
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--intake-seconds", type=float, default=5.0)
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    args.load = os.getloadavg()
    name = f"lf_bulk_retry_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.pg_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    db_url = re.sub(r"/[^/]*$", f"/{name}", args.pg_url)
    work = Path(tempfile.mkdtemp(prefix="bulk-retry-bench-"))
    env = {
        **os.environ,
        "LIGHTNING_DATABASE_URL": db_url.replace("postgresql://", "postgresql+psycopg://"),
        "LIGHTNING_ENCRYPTION_KEY": KEY,
        "LIGHTNING_DATA_DIR": str(work),
        "LIGHTNING_PREFECT_SYNC": "false",
        "LIGHTNING_ENV": "development",
    }
    env.pop("PREFECT_API_URL", None)
    os.environ.update(env)
    server = None
    try:
        made = seed(args.work_orders)
        port = _free_port()
        server = serve(env, port, work / "server.log")
        base = f"http://127.0.0.1:{port}"
        intake = Intake(f"{base}/i/{made['trigger_id']}", args.senders)
        intake.start()
        time.sleep(args.intake_seconds)
        alone = intake.stop()
        log(f"intake alone: {alone}")
        intake.start()
        result = bulk_retry(base, made["token"], made["project_id"])
        during = intake.stop()
        log(f"bulk retry: {result}")
        log(f"intake during: {during}")
        path = report(args, result, alone, during, machine(args.pg_url))
        log(f"wrote {path.relative_to(ROOT)}")
    finally:
        if server is not None:
            stop(server)
        with psycopg.connect(args.pg_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
