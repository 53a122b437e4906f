"""`benchmarks/engine.py --sustained`: a fixed offered rate of 3-step runs for minutes.

    .venv/bin/python benchmarks/engine.py --sustained [--rate 15] [--minutes 5]

Same setup as the engine benchmark's throughput part (a Prefect server, `--workers`
worker processes of `--concurrency`, PostgreSQL when reachable). Runs are enqueued at
`--rate` per second on a fixed schedule, each as the webhook writes it (one transaction:
request dataclip, work order, `available` run), for `--minutes`. Every second the queue
depth is sampled (runs `available`, runs claimed or started). Latency is webhook-to-
finished: runs.inserted_at (the intake transaction) to runs.finished_at.

Reported per minute of offered load: runs offered, their p50/p95 latency, runs finished
in that minute; the queue depth over time; whether the offered rate was sustained
(completions keep up, queue bounded) with p95 under 1 s (the target on 2 cores).
Results: benchmarks/results/engine-sustained-<date>.md and .json.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections import defaultdict
from typing import Any

from engine import (  # type: ignore[import-not-found]
    CpuProbe,
    create_fixture,
    enqueue,
    log,
    quantile,
    wait_runs,
)

P95_TARGET_MS = 1000.0


def _queue_depth() -> tuple[int, int]:
    """(runs waiting to be claimed, runs claimed or executing) right now."""
    from sqlalchemy import func
    from sqlmodel import col, select

    from lightning_flows.core.db import session_scope
    from lightning_flows.runs.models import Run

    with session_scope() as session:
        rows = dict(
            session.exec(
                select(Run.state, func.count())
                .where(col(Run.state).in_(["available", "claimed", "started"]))
                .group_by(Run.state)
            ).all()
        )
    return rows.get("available", 0), rows.get("claimed", 0) + rows.get("started", 0)


class DepthSampler(threading.Thread):
    """Samples the queue depth once a second until stopped."""

    def __init__(self, t0: float) -> None:
        super().__init__(name="queue-depth", daemon=True)
        self.t0 = t0
        self.samples: list[tuple[float, int, int]] = []
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.wait(1.0):
            try:
                waiting, active = _queue_depth()
            except Exception as exc:  # a busy database: this sample is skipped
                log(f"queue depth not sampled: {type(exc).__name__}")
            else:
                self.samples.append((round(time.monotonic() - self.t0, 1), waiting, active))


def run_sustained(bench: Any) -> dict[str, Any]:
    """Offer `--rate` 3-step runs/s for `--minutes`; per-minute latency and queue depth."""
    args = bench.args
    wf = create_fixture({"three steps": 3}).workflows["three steps"]
    procs = [bench.start_worker(f"worker{i + 1}", args.concurrency) for i in range(args.workers)]
    try:
        pids = bench.wait_ready(procs)
        wait_runs([enqueue(wf) for _ in range(args.workers * args.concurrency)], 120)
        total = int(args.rate * args.minutes * 60)
        log(f"sustained: {args.rate}/s for {args.minutes} min ({total} runs)")
        offered: list[tuple[int, uuid.UUID]] = []
        late = 0
        t0 = time.monotonic()
        sampler = DepthSampler(t0)
        sampler.start()
        with CpuProbe(bench.cpu_groups("workers (+node)", lambda: pids)) as cpu:
            for n in range(total):
                delay = t0 + n / args.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                elif delay < -0.5:
                    late += 1  # the enqueuing itself fell behind the schedule
                offered.append((int(n // (args.rate * 60)), enqueue(wf, n)))
            offered_s = time.monotonic() - t0
            rows = wait_runs([run_id for _, run_id in offered], args.timeout, partial=True)
        sampler.stop_event.set()
        sampler.join(timeout=5)
    finally:
        for proc in procs:
            bench.children.stop(proc)
    return _summarise(args, offered, rows, sampler.samples, cpu.used, offered_s, late)


def _summarise(
    args: Any,
    offered: list[tuple[int, uuid.UUID]],
    rows: list[Any],
    samples: list[tuple[float, int, int]],
    cpu_used: dict[str, float],
    offered_s: float,
    late: int,
) -> dict[str, Any]:
    by_id = {r.id: r for r in rows}
    minute_of = dict((run_id, minute) for minute, run_id in offered)
    first = min(r.inserted_at for r in rows)
    per_minute: dict[int, list[float]] = defaultdict(list)
    finished_in: dict[int, int] = defaultdict(int)
    for run_id, minute in minute_of.items():
        row = by_id.get(run_id)
        if row is None or row.finished_at is None:
            continue
        per_minute[minute].append((row.finished_at - row.inserted_at).total_seconds() * 1000)
        finished_in[int((row.finished_at - first).total_seconds() // 60)] += 1
    minutes = []
    for minute in sorted({m for m, _ in offered}):
        values = per_minute.get(minute, [])
        minutes.append(
            {
                "minute": minute + 1,
                "offered": sum(1 for m, _ in offered if m == minute),
                "finished": len(values),
                "finished_in_minute": finished_in.get(minute, 0),
                "p50_ms": round(quantile(values, 0.5), 1),
                "p95_ms": round(quantile(values, 0.95), 1),
                "queue_max": max(
                    (w for t, w, _ in samples if minute * 60 <= t < (minute + 1) * 60), default=0
                ),
            }
        )
    all_ms = [v for values in per_minute.values() for v in values]
    succeeded = sum(1 for r in rows if r.state == "success")
    last = max((r.finished_at for r in rows if r.finished_at), default=first)
    return {
        "rate": args.rate,
        "minutes": args.minutes,
        "workers": args.workers,
        "concurrency": args.concurrency,
        "offered": len(offered),
        "succeeded": succeeded,
        "offered_s": round(offered_s, 1),
        "late_enqueues": late,
        "completed_per_s": round(succeeded / max((last - first).total_seconds(), 1e-9), 2),
        "p50_ms": round(quantile(all_ms, 0.5), 1),
        "p95_ms": round(quantile(all_ms, 0.95), 1),
        "per_minute": minutes,
        "queue_depth": samples,
        "cpu_s": cpu_used,
    }


def sustained_report(facts: dict[str, Any], result: dict[str, Any], command: str) -> str:
    load = facts.get("loadavg_start", ())
    held = result["p95_ms"] < P95_TARGET_MS and result["succeeded"] == result["offered"]
    lines = [
        f"# Engine benchmark, sustained mode ({dt.date.today().isoformat()})",
        "",
        f"`{command}`",
        "",
        f"Machine: {facts.get('cpu_model')}, {facts.get('cores')} cores; platform DB "
        f"{facts.get('platform_db')}, Prefect DB {facts.get('prefect_db')}; git "
        f"{facts.get('git')}. Load average at start: {' '.join(f'{v:.2f}' for v in load)}; "
        f"at end: {' '.join(f'{v:.2f}' for v in facts.get('loadavg_end', ()))}.",
        "",
        f"Offered {result['rate']} three-step runs/s for {result['minutes']} min "
        f"({result['offered']} runs, enqueued as the webhook does) to {result['workers']} "
        f"worker processes x concurrency {result['concurrency']}: {result['succeeded']} "
        f"succeeded, completed {result['completed_per_s']} runs/s; webhook-to-finished "
        f"p50 {result['p50_ms']:.0f} ms, p95 {result['p95_ms']:.0f} ms. "
        f"Target (p95 < 1 s at this rate): {'met' if held else 'NOT met'}."
        + (
            f" {result['late_enqueues']} enqueues fell behind schedule."
            if result["late_enqueues"]
            else ""
        ),
        "",
        "| minute | offered | finished (of those) | finished in the minute | p50 ms | p95 ms "
        "| max runs waiting |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in result["per_minute"]:
        lines.append(
            f"| {m['minute']} | {m['offered']} | {m['finished']} | {m['finished_in_minute']} | "
            f"{m['p50_ms']:.0f} | {m['p95_ms']:.0f} | {m['queue_max']} |"
        )
    lines += ["", "Queue depth (runs waiting / claimed or executing), every 10 s:", ""]
    lines.append(
        " ".join(f"{t:.0f}s:{w}/{a}" for t, w, a in result["queue_depth"][::10]) or "(none)"
    )
    lines += ["", "CPU seconds during the offered period:", ""]
    lines += [f"- {name}: {seconds}" for name, seconds in result["cpu_s"].items()]
    return "\n".join(lines) + "\n"
