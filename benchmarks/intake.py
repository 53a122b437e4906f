"""Intake benchmark: accepted webhooks/s and latency over real HTTP, and webhook-to-finished.

Drives the real server (uvicorn + the platform app, PostgreSQL) from a separate
load process (wrk), side by side with Prefect's stock path measured in the same
run: a `flow.serve()` deployment triggered through
`POST /api/deployments/{id}/create_flow_run`.

    .venv/bin/python benchmarks/intake.py [--seconds 15] [--connections 32] [--e2e 40]
    .venv/bin/python benchmarks/intake.py --seconds 10 --skip e2e --skip baseline --no-save

Needs `wrk` (Debian package) and PostgreSQL on 127.0.0.1:5432. Writes
benchmarks/results/intake-<date>.md; benchmarks/README.md explains the columns.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from intake_load import (
    ROOT,
    body_of,
    child,
    free_port,
    process_cpu,
    process_tree,
    wait_http,
    wrk,
)
from intake_load import report as render_report

PG = "postgresql+psycopg://postgres@127.0.0.1:5432"
KEY = "qWlVLzBmHZsIqfcIiJ0yO5IDBwZrHAwU8hVgQm4f0Jg="


def log(message: str) -> None:
    print(f"[intake-bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def pg_admin(sql: str) -> None:
    subprocess.run(
        ["psql", "-q", "-h", "127.0.0.1", "-U", "postgres", "-c", sql],
        check=True,
        capture_output=True,
    )


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work = Path(tempfile.mkdtemp(prefix="intake-bench-", dir=ROOT / "benchmarks"))
        self.db = f"lf_bench_{uuid.uuid4().hex[:8]}"
        self.prefect_db = f"{self.db}_prefect"
        self.env = {
            **os.environ,
            "LIGHTNING_DATABASE_URL": f"{PG}/{self.db}",
            "LIGHTNING_DATA_DIR": str(self.work / "data"),
            "LIGHTNING_ENCRYPTION_KEY": KEY,
            "PREFECT_HOME": str(self.work / "prefect"),
        }
        self.results: dict[str, Any] = {}
        self.load = os.getloadavg()

    def run(self) -> None:
        pg_admin(f'CREATE DATABASE "{self.db}"')
        pg_admin(f'CREATE DATABASE "{self.prefect_db}"')
        try:
            if {"e2e", "baseline"} <= set(self.args.skip):
                os.environ.update(self.env)
                sys.path.insert(0, str(ROOT))
                self._ours(self._fixture())
            else:
                self._with_prefect()
        finally:
            pg_admin(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')
            pg_admin(f'DROP DATABASE IF EXISTS "{self.prefect_db}" WITH (FORCE)')
            shutil.rmtree(self.work, ignore_errors=True)

    def _with_prefect(self) -> None:
        os.environ.update(self.env)
        sys.path.insert(0, str(ROOT))
        from lightning_flows.engine.prefect.server import start_prefect_server

        log("starting a PostgreSQL-backed Prefect server")
        server = start_prefect_server(
            self.work / "prefect",
            database_url=f"postgresql+asyncpg://postgres@127.0.0.1:5432/{self.prefect_db}",
        )
        self.env.update(server.env)
        os.environ.update(server.env)
        try:
            hooks = self._fixture()
            self._ours(hooks)
            if "baseline" not in self.args.skip:
                self._baseline()
        finally:
            server.stop()

    def _fixture(self) -> dict[str, str]:
        from lightning_flows.core import migrate
        from lightning_flows.core.db import session_scope

        migrate.upgrade()
        from tests import factories

        with session_scope() as session:
            project = factories.make_project(session)
            factories.make_workflow(
                session, project, jobs={"j": "fn(s => s);"}, custom_path="bench"
            )
            factories.make_workflow(
                session,
                project,
                jobs={"j": "fn(s => s);"},
                custom_path="bench-sync",
                webhook_reply="after_completion",
            )
        return {"async": "bench", "sync": "bench-sync"}

    def _ours(self, hooks: dict[str, str]) -> None:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        api = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "lightning_flows.api.app:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            "--workers",
            str(self.args.api_workers),
        ]
        with child(api, self.env, self.work / "api.log") as server:
            wait_http(f"{url}/health")
            for size in (1_000, 50_000):
                body = body_of(size, self.work)
                wrk(f"{url}/i/{hooks['async']}", body, 3, self.args.connections, self.work)  # warm
                time.sleep(2)  # the warm-up's last requests land before the count
                before = self._count_work_orders()
                log(f"intake {size // 1000} KB for {self.args.seconds}s")
                cpu_before = self._cpu_seconds(server.pid)
                result = wrk(
                    f"{url}/i/{hooks['async']}",
                    body,
                    self.args.seconds,
                    self.args.connections,
                    self.work,
                )
                cpu_after = self._cpu_seconds(server.pid)
                result["cpu"] = {k: cpu_after[k] - cpu_before.get(k, 0.0) for k in cpu_after}
                time.sleep(2)  # requests in flight when wrk stopped: let them land
                self._check_stored(result, self._count_work_orders() - before)
                self.results[f"ours_{size}"] = result
            if "e2e" in self.args.skip:
                return
            worker = [
                sys.executable,
                "-c",
                "from lightning_flows.cli.main import app; app()",
                "worker",
                "--concurrency",
                "4",
            ]
            self._drain_backlog()
            with child(worker, self.env, self.work / "worker.log"):
                try:
                    self.results["ours_e2e"] = self._e2e_ours(f"{url}/i/{hooks['sync']}")
                except (RuntimeError, httpx.HTTPError) as exc:  # the engine's part, not intake's
                    log(f"webhook-to-finished failed: {exc}")
                    self.results["e2e_error"] = str(exc)[:200]

    def _count_work_orders(self) -> int:
        from sqlalchemy import text

        from lightning_flows.core.db import get_engine

        with get_engine().connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM work_orders")).scalar_one())

    def _cpu_seconds(self, api_pid: int) -> dict[str, float]:
        """CPU used so far by the API processes and by this database's PostgreSQL backends."""
        from sqlalchemy import text

        from lightning_flows.core.db import get_engine

        with get_engine().connect() as conn:
            backends = conn.execute(
                text(
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalars()
            pg = sum(process_cpu(pid) for pid in backends)
        return {"api": sum(process_cpu(pid) for pid in process_tree(api_pid)), "pg": pg}

    def _check_stored(self, result: dict[str, Any], stored: int) -> None:
        """lost: acknowledged (2xx) run ids not in the database; in flight: stored but
        never acknowledged to wrk (it stopped waiting)."""
        from sqlalchemy import text

        from lightning_flows.core.db import get_engine

        acked = [i for i in result["acked"] if i != "-"]
        with get_engine().connect() as conn:
            found = conn.execute(
                text("SELECT count(*) FROM runs WHERE id = ANY(CAST(:ids AS uuid[]))"),
                {"ids": acked},
            ).scalar_one()
        result["lost"] = len(result["acked"]) - int(found)
        result["in_flight"] = stored - int(found)

    def _drain_backlog(self) -> None:
        """The intake load left thousands of queued runs: cancel them before timing runs."""
        from sqlalchemy import text

        from lightning_flows.core.db import get_engine

        with get_engine().begin() as conn:
            conn.execute(text("UPDATE runs SET state = 'cancelled' WHERE state = 'available'"))

    def _e2e_ours(self, url: str) -> list[float]:
        log(f"webhook-to-finished, {self.args.e2e} sync-reply requests")
        latencies = []
        with httpx.Client(timeout=60) as http:
            for i in range(self.args.e2e + 3):
                started = time.perf_counter()
                response = http.post(url, json={"n": i})
                elapsed = (time.perf_counter() - started) * 1000
                if response.status_code != 201:
                    raise RuntimeError(f"sync reply failed: {response.status_code} {response.text}")
                if i >= 3:  # the first runs warm the node pool and imports
                    latencies.append(elapsed)
                time.sleep(0.2)
        return latencies

    def _baseline(self) -> None:
        api = os.environ["PREFECT_API_URL"]
        serve = [sys.executable, str(ROOT / "benchmarks" / "baseline_intake_flow.py")]
        log("baseline: Prefect's stock flow.serve() deployment")
        with child(serve, self.env, self.work / "serve.log"):
            deployment_id = self._wait_for_deployment(api)
            body = self.work / "prefect-create.json"
            body.write_text(json.dumps({"parameters": {"n": 1}, "tags": ["x" * 900]}))
            url = f"{api}/deployments/{deployment_id}/create_flow_run"
            log(f"baseline create_flow_run for {self.args.seconds}s")
            self.results["prefect_create"] = wrk(
                url, body, self.args.seconds, self.args.connections, self.work
            )
            self._cancel_scheduled(api)
            self.results["prefect_e2e"] = self._e2e_prefect(api, deployment_id)

    def _wait_for_deployment(self, api: str, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = httpx.post(f"{api}/deployments/filter", json={"limit": 5}).json()
            named = [d for d in found if d["name"] == "baseline-intake"]
            if named:
                return str(named[0]["id"])
            time.sleep(0.5)
        raise RuntimeError("the serve() deployment did not appear")

    def _cancel_scheduled(self, api: str) -> None:
        while True:
            runs = httpx.post(
                f"{api}/flow_runs/filter",
                json={"flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}}, "limit": 200},
            ).json()
            if not runs:
                return
            for flow_run in runs:
                httpx.post(
                    f"{api}/flow_runs/{flow_run['id']}/set_state",
                    json={"state": {"type": "CANCELLED"}, "force": True},
                )

    def _e2e_prefect(self, api: str, deployment_id: str) -> list[float]:
        log(f"baseline webhook-to-finished, {self.args.baseline_e2e} flow runs")
        latencies = []
        for _ in range(self.args.baseline_e2e):
            started = time.perf_counter()
            flow_run = httpx.post(
                f"{api}/deployments/{deployment_id}/create_flow_run", json={"parameters": {"n": 1}}
            ).json()
            while True:
                state = httpx.get(f"{api}/flow_runs/{flow_run['id']}").json()["state"]["type"]
                if state in ("COMPLETED", "FAILED", "CRASHED"):
                    break
                time.sleep(0.05)
            latencies.append((time.perf_counter() - started) * 1000)
        return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--api-workers", type=int, default=1)
    parser.add_argument("--e2e", type=int, default=40, help="sync-reply requests to time")
    parser.add_argument("--baseline-e2e", type=int, default=5, help="serve() runs to time")
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=["e2e", "baseline"],
        help="leave out webhook-to-finished or Prefect's baseline (repeatable)",
    )
    parser.add_argument("--no-save", action="store_true", help="print the report only")
    bench = Bench(parser.parse_args())
    bench.run()
    report = render_report(bench.results, bench.args, bench.load[0])
    print(report)
    if bench.args.no_save:
        return
    out = ROOT / "benchmarks" / "results" / f"intake-{dt.date.today().isoformat()}.md"
    out.write_text(report)
    log(f"wrote {out}")


if __name__ == "__main__":
    main()
