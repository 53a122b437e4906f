"""Intake benchmark: accepted webhooks/s and latency over real HTTP, and webhook-to-finished.

Drives the real server (uvicorn + the platform app, PostgreSQL) from a separate
load process (wrk), side by side with Prefect's stock path measured in the same
run: a `flow.serve()` deployment triggered through
`POST /api/deployments/{id}/create_flow_run`.

    .venv/bin/python benchmarks/intake.py [--seconds 15] [--connections 32] [--e2e 40]

Needs `wrk` (Debian package) and PostgreSQL on 127.0.0.1:5432. Writes
benchmarks/results/intake-<date>.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
PG = "postgresql+psycopg://postgres@127.0.0.1:5432"
KEY = "qWlVLzBmHZsIqfcIiJ0yO5IDBwZrHAwU8hVgQm4f0Jg="
WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open(os.getenv("BODY_FILE"), "r"); wrk.body = f:read("*a"); f:close()
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %.3f %.3f %.3f %.3f\\n",
    summary.requests, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000))
end
"""


def log(message: str) -> None:
    print(f"[intake-bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


@contextmanager
def child(argv: list[str], env: dict[str, str], logfile: Path) -> Iterator[subprocess.Popen[bytes]]:
    with logfile.open("ab") as out:
        proc = subprocess.Popen(
            argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def wait_http(url: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pg_admin(sql: str) -> None:
    subprocess.run(
        ["psql", "-q", "-h", "127.0.0.1", "-U", "postgres", "-c", sql],
        check=True,
        capture_output=True,
    )


def wrk(url: str, body_file: Path, seconds: int, connections: int, work: Path) -> dict[str, float]:
    script = work / "post.lua"
    script.write_text(WRK_SCRIPT)
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            url,
        ],
        env={**os.environ, "BODY_FILE": str(body_file)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"RESULT (\d+) (\d+) (\d+) ([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+)", out)
    if not match:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    requests, non2xx, errors, duration, p50, p95, p99 = match.groups()
    return {
        "requests": int(requests),
        "non2xx": int(non2xx),
        "errors": int(errors),
        "rps": int(requests) / float(duration),
        "p50": float(p50),
        "p95": float(p95),
        "p99": float(p99),
    }


def body_of(size: int, work: Path) -> Path:
    path = work / f"body-{size}.json"
    filler = "x" * max(0, size - 60)
    path.write_text(json.dumps({"patient": {"id": "p-1", "notes": filler}}))
    return path


def quantiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


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

    def run(self) -> None:
        pg_admin(f'CREATE DATABASE "{self.db}"')
        pg_admin(f'CREATE DATABASE "{self.prefect_db}"')
        try:
            self._with_prefect()
        finally:
            pg_admin(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')
            pg_admin(f'DROP DATABASE IF EXISTS "{self.prefect_db}" WITH (FORCE)')
            shutil.rmtree(self.work, ignore_errors=True)

    def _with_prefect(self) -> None:
        os.environ.update(self.env)
        sys.path.insert(0, str(ROOT))
        from lightning_flows.engine.prefect_server import start_prefect_server

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
        with child(api, self.env, self.work / "api.log"):
            wait_http(f"{url}/health")
            for size in (1_000, 50_000):
                body = body_of(size, self.work)
                wrk(f"{url}/i/{hooks['async']}", body, 3, self.args.connections, self.work)  # warm
                before = self._count_work_orders()
                log(f"intake {size // 1000} KB for {self.args.seconds}s")
                result = wrk(
                    f"{url}/i/{hooks['async']}",
                    body,
                    self.args.seconds,
                    self.args.connections,
                    self.work,
                )
                stored = self._count_work_orders() - before
                result["lost"] = result["requests"] - result["non2xx"] - stored
                self.results[f"ours_{size}"] = result
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
                self.results["ours_e2e"] = self._e2e_ours(f"{url}/i/{hooks['sync']}")

    def _count_work_orders(self) -> int:
        from sqlalchemy import text

        from lightning_flows.core.db import get_engine

        with get_engine().connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM work_orders")).scalar_one())

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

    def report(self) -> str:
        r = self.results
        o1, o50, pc = r["ours_1000"], r["ours_50000"], r["prefect_create"]
        e2e50, e2e95 = quantiles(r["ours_e2e"])
        b50, b95 = quantiles(r["prefect_e2e"])
        lines = [
            f"# Intake benchmark, {dt.date.today().isoformat()}",
            "",
            f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, {_version(['node', '--version'])}, "
            f"PostgreSQL {_version(['psql', '--version']).split()[-1]}; load from `wrk -t1 "
            f"-c{self.args.connections}` on the same machine; API: uvicorn with "
            f"{self.args.api_workers} worker process(es).",
            "",
            f"Command: `.venv/bin/python benchmarks/intake.py --seconds {self.args.seconds} "
            f"--connections {self.args.connections} --api-workers {self.args.api_workers}`",
            "",
            "| path | accepted/s | p50 ms | p95 ms | p99 ms | non-2xx | lost |",
            "|---|---:|---:|---:|---:|---:|---:|",
            _row("Lightning Flows `POST /i/…` 1 KB", o1),
            _row("Lightning Flows `POST /i/…` 50 KB", o50),
            _row("Prefect `create_flow_run` (1 KB of tags)", {**pc, "lost": "n/a"}),
            "",
            "| webhook to run finished | p50 ms | p95 ms | n |",
            "|---|---:|---:|---:|",
            f"| Lightning Flows (sync reply, 1 language-common step) | {e2e50:.0f} | {e2e95:.0f} "
            f"| {len(r['ours_e2e'])} |",
            f"| Prefect `flow.serve()` (1 task, poll until COMPLETED) | {b50:.0f} | {b95:.0f} "
            f"| {len(r['prefect_e2e'])} |",
            "",
            f"Ratios: intake 1 KB {o1['rps'] / pc['rps']:.1f}x Prefect's create_flow_run; "
            f"webhook-to-finished p50 {b50 / e2e50:.1f}x faster than flow.serve().",
        ]
        return "\n".join(lines) + "\n"


def _row(label: str, r: dict[str, Any]) -> str:
    return (
        f"| {label} | {r['rps']:.0f} | {r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} "
        f"| {r['non2xx'] + r['errors']} | {r['lost']} |"
    )


def _version(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--api-workers", type=int, default=1)
    parser.add_argument("--e2e", type=int, default=40, help="sync-reply requests to time")
    parser.add_argument("--baseline-e2e", type=int, default=5, help="serve() runs to time")
    bench = Bench(parser.parse_args())
    bench.run()
    report = bench.report()
    print(report)
    out = ROOT / "benchmarks" / "results" / f"intake-{dt.date.today().isoformat()}.md"
    out.write_text(report)
    log(f"wrote {out}")


if __name__ == "__main__":
    main()
