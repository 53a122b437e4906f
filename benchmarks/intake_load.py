"""The intake benchmark's tools: wrk with a record of acknowledged run ids, child
processes, CPU read from /proc, and the facts about the machine a report states."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open(os.getenv("BODY_FILE"), "r"); wrk.body = f:read("*a"); f:close()
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) acked = {} end
-- The run id of every 2xx answer: the proof of acknowledgement, checked against the database.
function response(status, headers, body)
  if status >= 200 and status < 300 then
    acked[#acked + 1] = headers["x-meta-run-id"] or "-"
  end
end
done = function(summary, latency, requests)
  local out = io.open(os.getenv("ACKED_FILE"), "w")
  for _, thread in ipairs(threads) do
    for _, id in ipairs(thread:get("acked")) do out:write(id, "\\n") end
  end
  out:close()
  io.write(string.format("RESULT %d %d %d %.3f %.3f %.3f %.3f\\n",
    summary.requests, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000))
end
"""


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


def wrk(url: str, body_file: Path, seconds: int, connections: int, work: Path) -> dict[str, Any]:
    """Load `url` for `seconds`; the run ids of the 2xx answers are in "acked"."""
    script = work / "post.lua"
    script.write_text(WRK_SCRIPT)
    acked_file = work / "acked.txt"
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
        env={**os.environ, "BODY_FILE": str(body_file), "ACKED_FILE": str(acked_file)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"RESULT (\d+) (\d+) (\d+) ([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+)", out)
    if not match:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    requests, non2xx, errors, duration, p50, p95, p99 = match.groups()
    acked = acked_file.read_text().split()
    return {
        "requests": int(requests),
        "non2xx": int(non2xx),
        "errors": int(errors),
        "acked": acked,
        "rps": len(acked) / float(duration),
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


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


def commit() -> str:
    def git(*argv: str) -> str:
        return subprocess.run(["git", *argv], capture_output=True, text=True, cwd=ROOT).stdout

    dirty = " with uncommitted changes" if git("status", "--porcelain").strip() else ""
    return f"{git('rev-parse', '--short', 'HEAD').strip()}{dirty}"


def process_tree(pid: int) -> list[int]:
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [pid, *(p for child in children.split() for p in process_tree(int(child)))]


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of one process (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def version(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


def report(results: dict[str, Any], args: Any, load_at_start: float) -> str:
    """The Markdown report of a benchmark run."""
    r = results
    o1, o50 = r["ours_1000"], r["ours_50000"]
    lines = [
        f"# Intake benchmark, {dt.date.today().isoformat()}",
        "",
        f"Machine: {cpu_model()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, Node {version(['node', '--version'])}, PostgreSQL "
        f"{version(['psql', '--version']).split()[-1].rstrip(')')}; load from `wrk -t1 "
        f"-c{args.connections}` on the same machine; API: uvicorn with "
        f"{args.api_workers} worker process(es). Load average (1 min) at start "
        f"{load_at_start:.2f}, at end {os.getloadavg()[0]:.2f}; commit {commit()}.",
        "",
        f"Command: `.venv/bin/python benchmarks/intake.py {' '.join(sys.argv[1:])}`",
        "",
        "| path | accepted/s | p50 ms | p95 ms | p99 ms | non-2xx | lost |",
        "|---|---:|---:|---:|---:|---:|---:|",
        _row("Lightning Flows `POST /i/…` 1 KB", o1),
        _row("Lightning Flows `POST /i/…` 50 KB", o50),
    ]
    if "prefect_create" in r:
        pc = r["prefect_create"]
        lines.append(_row("Prefect `create_flow_run` (1 KB of tags)", {**pc, "lost": "n/a"}))
    lines += [
        "",
        "accepted/s counts 2xx answers; lost = acknowledged run ids missing from the "
        "database (checked by id). Stored but never acknowledged (in flight when wrk "
        f"stopped): {o1['in_flight']} at 1 KB, {o50['in_flight']} at 50 KB. CPU per "
        f"accepted request, API / PostgreSQL: {_cpu_per_request(o1)} ms at 1 KB, "
        f"{_cpu_per_request(o50)} ms at 50 KB.",
    ]
    if "e2e_error" in r:
        lines += ["", f"Webhook to run finished: failed ({r['e2e_error']})."]
    if "ours_e2e" in r and "prefect_e2e" in r:
        e2e50, e2e95 = quantiles(r["ours_e2e"])
        b50, b95 = quantiles(r["prefect_e2e"])
        lines += [
            "",
            "| webhook to run finished | p50 ms | p95 ms | n |",
            "|---|---:|---:|---:|",
            f"| Lightning Flows (sync reply, 1 language-common step) | {e2e50:.0f} "
            f"| {e2e95:.0f} | {len(r['ours_e2e'])} |",
            f"| Prefect `flow.serve()` (1 task, poll until COMPLETED) | {b50:.0f} "
            f"| {b95:.0f} | {len(r['prefect_e2e'])} |",
            "",
            f"Ratios: intake 1 KB {o1['rps'] / r['prefect_create']['rps']:.1f}x Prefect's "
            f"create_flow_run; webhook-to-finished p50 {b50 / e2e50:.1f}x faster than "
            "flow.serve().",
        ]
    return "\n".join(lines) + "\n"


def _row(label: str, r: dict[str, Any]) -> str:
    return (
        f"| {label} | {r['rps']:.0f} | {r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} "
        f"| {r['non2xx'] + r['errors']} | {r['lost']} |"
    )


def _cpu_per_request(r: dict[str, Any]) -> str:
    accepted = max(1, len(r["acked"]))
    return f"{r['cpu']['api'] / accepted * 1000:.2f} / {r['cpu']['pg'] / accepted * 1000:.2f}"
