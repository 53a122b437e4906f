"""The soak's report (benchmarks/soak.py): outcome, throughput, latency per 5-minute
window, the fault timeline and the memory trend of every process, as Markdown."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from engine import quantile

WINDOW_SECONDS = 300


@dataclass
class Sent:
    at: float  # seconds since the load started
    ack_seconds: float
    run_id: uuid.UUID | None  # None: not acknowledged (error status, refused, timeout)
    status: str


def slope_per_hour(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (minute, MB) points, in MB per hour."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    var = sum((x - mx) ** 2 for x, _ in points)
    return 60 * sum((x - mx) * (y - my) for x, y in points) / var if var else 0.0


def render(args: argparse.Namespace, facts: dict[str, Any], report: dict[str, Any]) -> str:
    load = report["load"]  # soak.Load: .sent, .shed
    runs: dict[uuid.UUID, tuple[str, Any, Any]] = report["runs"]
    acked = [s for s in load.sent if s.run_id is not None]
    succeeded = sum(1 for s in acked if runs.get(s.run_id, ("",))[0] == "success")  # type: ignore[arg-type]
    refused: dict[str, int] = defaultdict(int)
    for s in load.sent:
        if s.run_id is None:
            refused[s.status] += 1
    short = args.minutes < 30
    lines = [
        f"# Soak under faults, {dt.date.today().isoformat()}"
        + (f" — SHORT VERSION ({args.minutes:g} min)" if short else ""),
        "",
        f"Command: `.venv/bin/python benchmarks/soak.py {command_line()}`",
        "",
    ]
    if short:
        lines += [
            f"**This is the short version ({args.minutes:g} minutes) that proves the script "
            "works; the 30-minute soak (`benchmarks/soak.py` with its defaults) is still to "
            "be run and recorded.**",
            "",
        ]
    lines += [
        f"Machine: {facts['cpu_model']}, {facts['cores']} cores, {facts['ram_gib']} GiB; "
        f"load average at start {fmt_load(facts['loadavg_start'])}, at end "
        f"{fmt_load(facts['loadavg_end'])}; Python {facts['python']}, Node {facts['node']}, "
        f"Prefect {facts['prefect']}; commit {facts['git']}.",
        "",
        f"Setup: {args.workers} workers x concurrency {args.concurrency}, a {args.steps}-step "
        f"workflow, {args.rate:g} webhooks/s offered for {args.minutes:g} min (at most "
        f"{args.max_in_flight} in flight), own PostgreSQL 15 cluster, PostgreSQL-backed Prefect "
        "server, API and workers as separate processes (the compose file's commands).",
        "",
        "## Outcome",
        "",
        "| offered | shed (in-flight bound) | not acknowledged | acknowledged | finished "
        "(success) | other final states | not final after drain | a job succeeded twice |",
        "|---|---|---|---|---|---|---|---|",
        f"| {len(load.sent) + load.shed} | {load.shed} | {len(load.sent) - len(acked)} | "
        f"{len(acked)} | {succeeded} | {other_states(acked, runs)} | "
        f"{sum(1 for s in acked if s.run_id not in runs or runs[s.run_id][2] is None)} | "
        f"{report['doubled']} |",
        "",
        throughput_line(acked, runs, report["seconds"], args.rate),
        "",
        "Not acknowledged, by answer: "
        + (", ".join(f"{k}: {v}" for k, v in sorted(refused.items())) or "none")
        + " (a client retries these; nothing acknowledged may be lost).",
        "",
        "## Latency per 5-minute window",
        "",
        "| window | acknowledged | ack p50 (ms) | ack p99 (ms) | webhook-to-finished p50 (s) "
        "| webhook-to-finished p99 (s) |",
        "|---|---|---|---|---|---|",
    ]
    # webhook-to-finished counts the runs finished by the end of the drain only.
    windows: dict[int, list[Sent]] = defaultdict(list)
    for s in acked:
        windows[int(s.at // WINDOW_SECONDS)].append(s)
    for w, items in sorted(windows.items()):
        acks = [s.ack_seconds * 1000 for s in items]
        done = [
            (runs[s.run_id][2] - runs[s.run_id][1]).total_seconds()
            for s in items
            if s.run_id in runs and runs[s.run_id][2] is not None
        ]
        lines.append(
            f"| {w * 5}-{w * 5 + 5} min | {len(items)} | {quantile(acks, 0.5):.0f} | "
            f"{quantile(acks, 0.99):.0f} | {quantile(done, 0.5):.2f} | {quantile(done, 0.99):.2f} |"
        )
    lines += ["", "## Faults", ""]
    lines += [f"- {at / 60:.1f} min: {what}" for at, what in report["timeline"]]
    lines += [
        "",
        "## Memory (RSS of each process tree, sampled every minute)",
        "",
        "| process | pid | samples | first MB | last MB | trend (MB/hour, least squares) |",
        "|---|---|---|---|---|---|",
    ]
    for (role, pid), points in sorted(report["rss"].items()):
        trend = f"{slope_per_hour(points):+.1f}" if len(points) >= 3 else "(too few samples)"
        lines.append(
            f"| {role} | {pid} | {len(points)} | {points[0][1]:.0f} | {points[-1][1]:.0f} "
            f"| {trend} |"
        )
    lines += [
        "",
        "Worker trees include their Node processes; `postgres` is the postmaster and its "
        "backends (a new postmaster after the restart; RSS counts the shared buffers each "
        "backend touched, so it grows as the cache warms). A restarted process starts a new "
        "series (new pid). A trend over a few minutes is dominated by warm-up (caches, the "
        "Node pool, connection pools); read the trend of the 30-minute run, not this one.",
        "",
    ]
    return "\n".join(lines)


def throughput_line(
    acked: list[Sent], runs: dict[uuid.UUID, tuple[str, Any, Any]], seconds: float, rate: float
) -> str:
    """How fast runs finished, so the latencies can be read: above it, runs queue."""
    ends = [runs[s.run_id][2] for s in acked if s.run_id in runs and runs[s.run_id][2]]
    starts = [runs[s.run_id][1] for s in acked if s.run_id in runs]
    if not ends or not starts:
        return "Throughput: no run finished."
    span = (max(ends) - min(starts)).total_seconds()
    per_second = len(ends) / span if span > 0 else float("nan")
    verdict = (
        "the offered rate was above it: runs queued, and webhook-to-finished measures the queue"
        if per_second < rate * 0.95
        else "the workers kept up with the offered rate"
    )
    return (
        f"Throughput: {len(ends)} runs finished in {span:.0f} s from the first acknowledgement "
        f"({per_second:.2f} runs/s); {verdict}. The soak and drain took {seconds:.0f} s."
    )


def command_line() -> str:
    """The arguments given, without --output and its value."""
    words, skip = [], False
    for word in sys.argv[1:]:
        if skip or word.startswith("--output"):
            skip = word == "--output"
            continue
        words.append(word)
    return " ".join(words)


def other_states(acked: list[Sent], runs: dict[uuid.UUID, tuple[str, Any, Any]]) -> str:
    counts: dict[str, int] = defaultdict(int)
    for s in acked:
        state = runs.get(s.run_id, ("missing",))[0]  # type: ignore[arg-type]
        if state != "success":
            counts[state] += 1
    return ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "0"


def fmt_load(load: tuple[float, float, float]) -> str:
    return " / ".join(f"{x:.2f}" for x in load)
