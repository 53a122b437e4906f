"""Prefect floor: what the Prefect bookkeeping of a 3-step run costs, with nothing else.

The worker sends Prefect, per run: its share of one bulk "create flow runs
Running" request, two task-run events per step (Running, final), the steps' log
lines, and one orchestrated final state. This script sends exactly that (the
engine's own `create_flow_runs`, `TaskRunReporter` and client) for fake runs,
from `--threads` threads, against a PostgreSQL-backed Prefect server on this
machine, without executing anything, and reports runs/s and CPU seconds per run
of the Prefect server, its database and this client. Whatever the engine
does, a Prefect-tracked 3-step run cannot cost less than this.

    .venv/bin/python benchmarks/prefect_floor.py [--runs 300] [--threads 8]

Needs PostgreSQL on 127.0.0.1:5432. Prints a Markdown table (copy it into
results/engine-<date>.md next to the engine benchmark's run).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess  # nosec B404
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = "postgresql+asyncpg://postgres@127.0.0.1:5432"
sys.path.insert(0, str(ROOT / "benchmarks"))
from engine import _all_stats, _stat, tree_pids  # noqa: E402  (the /proc accounting)


def cpu_seconds(pids: Iterable[int]) -> float:
    return sum(stat[1] for pid in pids if (stat := _stat(pid)) is not None)


def postgres_backends(database: str) -> list[int]:
    out = subprocess.run(  # psql quotes the name itself (:'db')
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-At", "-v", f"db={database}"],
        input="SELECT pid FROM pg_stat_activity WHERE datname = :'db';",
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return [int(p) for p in out.split()]


def psql(sql: str) -> None:
    subprocess.run(["psql", "-q", "-h", "127.0.0.1", "-U", "postgres", "-c", sql], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--batch", type=int, default=4, help="runs per bulk create")
    parser.add_argument(
        "--prefect-defaults",
        action="store_true",
        help="start the Prefect server with Prefect's event settings, not the platform's batching",
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="prefect-floor-", dir=ROOT / "benchmarks"))
    database = f"lf_floor_{uuid.uuid4().hex[:8]}"
    os.environ.update(
        LIGHTNING_DATABASE_URL=f"sqlite:///{work / 'platform.db'}",
        LIGHTNING_DATA_DIR=str(work / "data"),
        LIGHTNING_ENCRYPTION_KEY="qWlVLzBmHZsIqfcIiJ0yO5IDBwZrHAwU8hVgQm4f0Jg=",
    )
    sys.path.insert(0, str(ROOT))
    import lightning_flows.engine.prefect.server as prefect_server
    from lightning_flows.engine.prefect.server import start_prefect_server

    if args.prefect_defaults:
        prefect_server.EVENT_BATCHING.clear()
    psql(f'CREATE DATABASE "{database}"')
    server = start_prefect_server(work / "prefect", database_url=f"{PG}/{database}")
    os.environ.update(server.env)
    try:
        measure(args, server.process.pid, database)
    finally:
        server.stop()
        psql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        shutil.rmtree(work, ignore_errors=True)


def measure(args: argparse.Namespace, server_pid: int, database: str) -> None:
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    import lightning_flows.models  # noqa: F401
    from lightning_flows.core import migrate
    from lightning_flows.engine.prefect.client import prefect_client
    from lightning_flows.engine.prefect.dispatch import create_flow_runs
    from lightning_flows.engine.prefect.flow import FLOW_NAME
    from lightning_flows.engine.prefect.task_runs import TaskRunReporter
    from lightning_flows.runs.queue import ClaimedRun

    migrate.upgrade()
    client = prefect_client()
    flow_id = client.create_flow_from_name(FLOW_NAME)
    deployment_id = client.create_deployment(flow_id, name="floor")
    now = datetime.now(UTC)

    def one_batch(size: int) -> None:
        claimed = [
            ClaimedRun(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), "floor",
                       deployment_id, None)
            for _ in range(size)
        ]  # fmt: skip
        for flow_run in create_flow_runs(claimed)[0].values():
            reporter = TaskRunReporter(flow_run.id, flow_run.name, flow_run.tags)
            for step in range(args.steps):
                handle = reporter.start(f"step {step}", str(uuid.uuid4()), uuid.uuid4())
                reporter.log([(now, "info", "JOB", "a log line")], handle.id)
                reporter.finish(handle, "success", None)
            from prefect.states import Completed

            client.set_flow_run_state(flow_run.id, Completed(message="Run success"))

    one_batch(args.batch)  # warm-up
    EventsWorker.drain_all()
    time.sleep(3)
    server_pids = tree_pids([server_pid], _all_stats())
    pg_before = {pid: cpu_seconds([pid]) for pid in postgres_backends(database)}
    me = [os.getpid()]
    before = (cpu_seconds(server_pids), cpu_seconds(me))
    started = time.perf_counter()
    batches = [args.batch] * (args.runs // args.batch)
    lock = threading.Lock()
    with ThreadPoolExecutor(args.threads) as pool:
        for future in [pool.submit(one_batch, size) for size in batches]:
            with lock:
                future.result()
    sent = time.perf_counter() - started
    EventsWorker.drain_all()
    APILogWorker.drain_all()
    settled = wait_for_task_runs(client, len(batches) * args.batch * args.steps)
    elapsed = time.perf_counter() - started
    after = (cpu_seconds(server_pids), cpu_seconds(me))
    # Backends that came or went during the window are left out (their CPU is unknown).
    alive = set(postgres_backends(database))
    pg_used = sum(cpu_seconds([pid]) - cpu for pid, cpu in pg_before.items() if pid in alive)
    runs = len(batches) * args.batch
    server_cpu, client_cpu = ((a - b) / runs for a, b in zip(after, before, strict=True))
    pg_cpu = pg_used / runs
    print(f"\nPrefect floor, {runs} runs of {args.steps} steps, {args.threads} threads, "
          f"bulk create of {args.batch}, "
          f"{'Prefect default event settings' if args.prefect_defaults else 'event batching'}; "
          f"{time.strftime('%Y-%m-%d %H:%M')}, "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}\n")  # fmt: skip
    print("| measure | value |\n| --- | ---: |")
    print(f"| runs/s (all calls sent) | {runs / sent:.1f} |")
    print(f"| runs/s (every task run stored by the server) | {runs / elapsed:.1f} |")
    print(f"| task runs stored | {settled} |")
    print(f"| CPU ms per run: Prefect server | {server_cpu * 1000:.0f} |")
    print(f"| CPU ms per run: Prefect's PostgreSQL | {pg_cpu * 1000:.0f} |")
    print(f"| CPU ms per run: this client | {client_cpu * 1000:.0f} |")
    total = server_cpu + pg_cpu + client_cpu
    print(f"| CPU-bound ceiling on {os.cpu_count()} cores (runs/s) | "
          f"{(os.cpu_count() or 1) / total:.1f} |")  # fmt: skip


def wait_for_task_runs(client: object, expected: int, timeout: float = 300) -> int:
    """The server stores task runs from events asynchronously: wait until all are in."""
    deadline = time.monotonic() + timeout
    count = 0
    while time.monotonic() < deadline:
        count = client.request("POST", "/task_runs/count", json={}).json()  # type: ignore[attr-defined]
        if count >= expected:
            break
        time.sleep(0.2)
    return int(count)


if __name__ == "__main__":
    main()
