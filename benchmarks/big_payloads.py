"""Big payloads end to end: a webhook body of 1 KB, 1 MB and 10 MB through a 3-step
workflow whose steps each grow the state by 100 KB, on the real stack (uvicorn + the
platform app, a worker process with its Node pool, a PostgreSQL-backed Prefect server,
PostgreSQL for the platform).

    .venv/bin/python benchmarks/big_payloads.py [--repeat 3] [--no-save]

Per size: intake time (request sent to 200), webhook-to-finished (request sent to the
run's `finished_at`), and the peak resident memory (sampled every 20 ms from /proc) of
the API process, the worker (Python) and the worker's Node processes. The state limit
is raised to 15 MB so the 10 MB run can finish (tests/webhooks/test_big_payloads.py
covers the kill at the limit). Writes benchmarks/results/big-payloads-<date>.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from intake_load import ROOT, child, commit, cpu_model, free_port, process_tree, wait_http

PG = "postgresql+psycopg://postgres@127.0.0.1:5432"
KEY = "qWlVLzBmHZsIqfcIiJ0yO5IDBwZrHAwU8hVgQm4f0Jg="
SIZES = (1_000, 1_000_000, 10_000_000)
GROW = "fn(s => ({ ...s, data: { ...s.data, %s: 'x'.repeat(100000) } }));"


def log(message: str) -> None:
    print(f"[big-payloads {time.strftime('%H:%M:%S')}] {message}", flush=True)


def pg_admin(sql: str) -> None:
    subprocess.run(
        ["psql", "-q", "-h", "127.0.0.1", "-U", "postgres", "-c", sql],
        check=True,
        capture_output=True,
    )


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


class PeakRss:
    """Samples the peak RSS of the API, the worker and its Node processes."""

    def __init__(self, api_pid: int, worker_pid: int) -> None:
        self.api_pid, self.worker_pid = api_pid, worker_pid
        self.peak = {"api": 0.0, "worker": 0.0, "node": 0.0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            api = sum(rss_mb(p) for p in process_tree(self.api_pid))
            worker = node = 0.0
            for pid in process_tree(self.worker_pid):
                if "node" in command(pid).split(" ", 1)[0]:
                    node = max(node, rss_mb(pid))  # the largest Node process
                else:
                    worker += rss_mb(pid)
            for key, value in (("api", api), ("worker", worker), ("node", node)):
                self.peak[key] = max(self.peak[key], value)
            time.sleep(0.02)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work = Path(tempfile.mkdtemp(prefix="big-bench-", dir=ROOT / "benchmarks"))
        self.db = f"lf_bench_{uuid.uuid4().hex[:8]}"
        self.env = {
            **os.environ,
            "LIGHTNING_DATABASE_URL": f"{PG}/{self.db}",
            "LIGHTNING_DATA_DIR": str(self.work / "data"),
            "LIGHTNING_ENCRYPTION_KEY": KEY,
            "LIGHTNING_STATE_LIMIT_BYTES": "15000000",
            "LIGHTNING_NODE_POOL_SIZE": "1",
            "PREFECT_HOME": str(self.work / "prefect"),
        }
        self.rows: list[dict[str, Any]] = []
        self.load_start = os.getloadavg()

    def run(self) -> None:
        pg_admin(f'CREATE DATABASE "{self.db}"')
        pg_admin(f'CREATE DATABASE "{self.db}_prefect"')
        os.environ.update(self.env)
        sys.path.insert(0, str(ROOT))
        from lightning_flows.engine.prefect.server import start_prefect_server

        server = start_prefect_server(
            self.work / "prefect",
            database_url=f"postgresql+asyncpg://postgres@127.0.0.1:5432/{self.db}_prefect",
        )
        self.env.update(server.env)
        os.environ.update(server.env)
        try:
            self._measure(self._fixture())
        finally:
            server.stop()
            pg_admin(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')
            pg_admin(f'DROP DATABASE IF EXISTS "{self.db}_prefect" WITH (FORCE)')
            shutil.rmtree(self.work, ignore_errors=True)

    def _fixture(self) -> str:
        from lightning_flows.core import migrate
        from lightning_flows.core.db import session_scope
        from tests import factories

        migrate.upgrade()
        with session_scope() as session:
            project = factories.make_project(session)
            jobs = {name: GROW % name for name in ("one", "two", "three")}
            factories.make_workflow(session, project, jobs=jobs, custom_path="big")
        return "big"

    def _measure(self, hook: str) -> None:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        api = [sys.executable, "-m", "uvicorn", "--factory", "lightning_flows.api.app:create_app"]
        api += ["--port", str(port), "--log-level", "warning", "--no-access-log"]
        worker = [sys.executable, "-c", "from lightning_flows.cli.main import app; app()"]
        worker += ["worker", "--concurrency", "1"]
        with (
            child(api, self.env, self.work / "api.log") as api_proc,
            child(worker, self.env, self.work / "worker.log") as worker_proc,
        ):
            wait_http(f"{url}/health")
            with httpx.Client(timeout=120) as client:
                self._one(client, f"{url}/i/{hook}", 1_000)  # warm-up: imports, Node, adaptor
                for size in SIZES:
                    for attempt in range(self.args.repeat):
                        log(f"{size:,} bytes, run {attempt + 1}")
                        with PeakRss(api_proc.pid, worker_proc.pid) as rss:
                            row = self._one(client, f"{url}/i/{hook}", size)
                        self.rows.append({**row, **{f"rss_{k}": v for k, v in rss.peak.items()}})

    def _one(self, client: httpx.Client, url: str, size: int) -> dict[str, Any]:
        from lightning_flows.core.db import session_scope
        from lightning_flows.runs.models import Run

        raw = b'{"blob": "' + b"y" * (size - 12) + b'"}'
        sent = dt.datetime.now(dt.UTC)
        started = time.monotonic()
        answer = client.post(url, content=raw, headers={"content-type": "application/json"})
        intake = time.monotonic() - started
        answer.raise_for_status()
        run_id = uuid.UUID(answer.json()["run_id"])
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            with session_scope() as session:
                run = session.get(Run, run_id)
                if run is not None and run.finished_at is not None:
                    finished = run.finished_at
                    state = run.state
                    break
            time.sleep(0.05)
        else:
            raise RuntimeError(f"run {run_id} did not finish")
        total = (finished.replace(tzinfo=dt.UTC) - sent).total_seconds()
        return {"size": size, "intake_s": intake, "finished_s": total, "state": state}


def report(bench: Bench, argv: list[str]) -> str:
    lines = [
        f"# Big payloads — {dt.date.today()}",
        "",
        f"- machine: {cpu_model()}, {os.cpu_count()} cores (shared with other users)",
        f"- load average at start {bench.load_start}, at end {os.getloadavg()}",
        f"- commit {commit()}",
        f"- command: `{' '.join(argv)}`",
        "- 3-step workflow, each step adds 100 KB; state limit 15 MB; 1 Node process;"
        " worker concurrency 1; PostgreSQL for the platform and Prefect",
        "",
        "| body | runs | state | intake s (median) | webhook-to-finished s (median) "
        "| peak RSS MB: API | worker | Node |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for size in SIZES:
        rows = [r for r in bench.rows if r["size"] == size]
        if not rows:
            continue
        states = ",".join(sorted({r["state"] for r in rows}))
        med = {k: statistics.median(r[k] for r in rows) for k in ("intake_s", "finished_s")}
        peak = {k: max(r[f"rss_{k}"] for r in rows) for k in ("api", "worker", "node")}
        lines.append(
            f"| {size:,} B | {len(rows)} | {states} | {med['intake_s']:.3f} | "
            f"{med['finished_s']:.3f} | {peak['api']:.0f} | {peak['worker']:.0f} | "
            f"{peak['node']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()
    bench = Bench(args)
    bench.run()
    text = report(bench, ["benchmarks/big_payloads.py", *sys.argv[1:]])
    print(text)
    if not args.no_save:
        out = ROOT / "benchmarks" / "results" / f"big-payloads-{dt.date.today()}.md"
        out.write_text(text)
        log(f"written {out}")


if __name__ == "__main__":
    main()
