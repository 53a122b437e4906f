"""History page benchmark: `/projects/{id}/history` with 100,000 work orders in PostgreSQL.

Seeds a fresh database (created here, dropped at the end unless --keep) through the
platform's services for the user, project and workflows, then bulk-loads work
orders, runs, steps, dataclips and log lines with COPY (indexes dropped during the
load and rebuilt after, as a restore would). Serves the app with uvicorn and
times the page over HTTP, signed in, without and with filters and search.

    .venv/bin/python benchmarks/history.py [--work-orders 100000] [--requests 15]

Needs PostgreSQL on 127.0.0.1:5432 (`--pg-url`). Writes
benchmarks/results/history-<date>.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from history_seed import Seeder  # noqa: E402

KEY = "qWlVLzBmHZsIqfcIiJ0yO5IDBwZrHAwU8hVgQm4f0Jg="
TOTAL = re.compile(r"(More than )?<strong>([\d,]+)</strong> work order")


def log(message: str) -> None:
    print(f"[history-bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def scenarios(seed: Seeder) -> list[tuple[str, str]]:
    """(label, query string) of every timed request."""
    week_ago = (seed.newest - dt.timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")
    day = (seed.newest - dt.timedelta(days=30)).strftime("%Y-%m-%d")
    wf, wanjiru_wf = seed.workflow_ids[0], seed.workflow_ids[3]  # "Wanjiru" work orders: 4th
    return [
        ("no filters (page 1)", ""),
        ("page 200", "page=200"),
        ("status=failed", "status=failed"),
        ("status=crashed+killed+lost", "status=crashed&status=killed&status=lost"),
        ("one workflow", f"workflow_id={wf}"),
        ("received in the last 7 days", f"since={week_ago}"),
        ("last activity on one day", f"last_activity_since={day}&last_activity_until={day}"),
        ("search: a case id in an input body", f"search={seed.needle_case}"),
        ("search: a record number in a log line", f"search={seed.needle_log}"),
        ("search: a registration in a step output", f"search={seed.needle_output}"),
        ("search: a name in ~1% of bodies", f"search={seed.common_name}"),
        ("search: no match", "search=zz-nothing-matches-zz"),
        (
            "success + workflow + search",
            f"status=success&workflow_id={wanjiru_wf}&search={seed.common_name}",
        ),
    ]


def time_page(client: httpx.Client, url: str, requests: int) -> tuple[float, float, str]:
    """(median ms, max ms, work orders matched) over `requests` after 2 warm-up calls."""
    samples = []
    matched = "?"
    for attempt in range(requests + 2):
        started = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"{url}: {response.status_code} {response.text[:300]}")
        found = TOTAL.search(response.text)
        if found:
            matched = ("> " if found.group(1) else "") + found.group(2)
        if attempt >= 2:
            samples.append(elapsed)
    return statistics.median(samples), max(samples), matched


def serve(env: dict[str, str], port: int, logfile: Path) -> subprocess.Popen[bytes]:
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        "lightning_flows.api.app:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    with logfile.open("wb") as out:
        proc = subprocess.Popen(
            argv, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    stop(proc)
    raise RuntimeError(f"the server did not start; see {logfile}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def machine(pg_url: str) -> dict[str, str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    with psycopg.connect(pg_url) as conn:
        pg_version = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True, capture_output=True
    ).stdout.strip()
    return {
        "CPU": f"{cpu} ({os.cpu_count()} cores)",
        "RAM": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "PostgreSQL": pg_version,
        "git commit": f"{commit} (with uncommitted changes)",
    }


def report(
    args: argparse.Namespace,
    seed: Seeder,
    rows: list[tuple[str, str, float, float, str]],
    info: dict[str, str],
) -> Path:
    today = dt.date.today().isoformat()
    lines = [
        f"# History page benchmark, {today}",
        "",
        f"`GET /projects/{{id}}/history` (20 work orders per page, each with its runs and steps) "
        f"with **{args.work_orders:,} work orders** in one project, PostgreSQL, over HTTP "
        f"(uvicorn, one worker, signed-in session cookie). Median and slowest of "
        f"{args.requests} requests after 2 warm-up requests, one at a time. Target: < 300 ms.",
        "",
        "Command: `" + " ".join([".venv/bin/python benchmarks/history.py", *sys.argv[1:]]) + "`",
        "",
        "| request | median ms | max ms | work orders matched |",
        "| --- | ---: | ---: | ---: |",
        *(
            f"| {label} (`?{query}`) | {med:.0f} | {worst:.0f} | {matched} |"
            for label, query, med, worst, matched in rows
        ),
        "",
        "## Data",
        "",
        *(f"- {table}: {count:,} rows" for table, count in seed.counts.items()),
        f"- seeded in {seed.seconds:.0f} s (COPY, indexes rebuilt after), then VACUUM ANALYZE"
        if not args.reuse
        else "- a database seeded by an earlier run (`--keep`, then `--reuse`)",
        "- work orders spread over 90 days across 4 workflows; 85% success, 10% failed, "
        "1% each crashed, pending, running, rejected, killed; every run has 2 steps "
        "(input, output dataclips) and 2 log lines per step; 5% of failed work orders were retried",
        "",
        "## Machine",
        "",
        *(f"- {key}: {value}" for key, value in info.items()),
        f"- load average (1 min) at start / end: {args.load[0]:.1f} / {os.getloadavg()[0]:.1f} "
        "(other processes shared the machine)",
        "",
    ]
    path = ROOT / "benchmarks" / "results" / f"history-{today}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work-orders", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=15)
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", metavar="DATABASE", help="time a database kept by --keep")
    args = parser.parse_args()
    args.load = os.getloadavg()

    name = args.reuse or f"lf_history_bench_{uuid.uuid4().hex[:8]}"
    if not args.reuse:
        with psycopg.connect(args.pg_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
    db_url = re.sub(r"/[^/]*$", f"/{name}", args.pg_url)
    work = Path(tempfile.mkdtemp(prefix="history-bench-"))
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
        seed = Seeder(db_url, args.work_orders)
        if args.reuse:
            seed.reuse()
            args.work_orders = seed.counts["work_orders"]
        else:
            log(f"database {name}: migrating and seeding {args.work_orders:,} work orders")
            seed.run()
            log(f"seeded in {seed.seconds:.0f} s: {seed.counts}")
        port = int(os.environ.get("BENCH_PORT", "0")) or _free_port()
        server = serve(env, port, work / "server.log")
        base = f"http://127.0.0.1:{port}/projects/{seed.project_id}/history"
        rows = []
        with httpx.Client(cookies={"lf_session": seed.cookie}, timeout=60) as client:
            for label, query in scenarios(seed):
                med, worst, matched = time_page(client, f"{base}?{query}", args.requests)
                log(f"{label}: median {med:.0f} ms, max {worst:.0f} ms ({matched} matched)")
                rows.append((label, query, med, worst, matched))
        path = report(args, seed, rows, machine(args.pg_url))
        log(f"wrote {path.relative_to(ROOT)}")
    finally:
        if server is not None:
            stop(server)
        if not (args.keep or args.reuse):
            with psycopg.connect(args.pg_url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            log(f"kept database {name}")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


if __name__ == "__main__":
    main()
