"""Scale-out curve: 3-step runs/s and webhook-to-finished latency for 1, 2, 3 worker hosts.

    sudo .venv/bin/python benchmarks/scale_out.py [--hosts 1,2,3] [--burst 120]
        [--rate 5 --paced-seconds 20]

Runs over the multi-host topology (lightning_flows/topology: PostgreSQL, Prefect, the API
and the workers each in a network namespace of their own, as deployments/services.yaml
starts them). One topology; worker hosts are added one at a time. For each count:

- warm-up: a few runs per worker (Node processes, adaptor cache, connections);
- burst: `--burst` webhooks posted at once (4 client threads) to the API host;
  runs/s = runs finished / (last finished_at - first webhook sent); the latency of a
  burst is mostly time in the queue;
- paced: `--rate` webhooks/s for `--paced-seconds`: webhook-to-finished p50/p95
  (runs.inserted_at, written by the webhook's transaction, to runs.finished_at);
- CPU per host during the burst, from /proc of each host's processes (a worker host's
  Node processes and PostgreSQL's backends count for their host);
- every acknowledged run (a 200 with a run id) must finish `success` exactly once: one
  run per work order and one successful step per job.

Results: benchmarks/results/scale-out-<date>.md and .json, with the machine and its load
average (other work on the machine changes the figures: compare rows of one file only).
Needs root (network namespaces); without them it falls back to 127.0.0.1 and says so.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT))

from lightning_flows.topology import Topology  # noqa: E402
from lightning_flows.topology.processes import cpu_seconds  # noqa: E402
from lightning_flows.topology.workload import (  # noqa: E402
    QUICK_STEP,
    Chain,
    post_webhook,
    provision_chain,
    query,
    wait_finished,
)

READING = """
## How to read it

Every host here shares the same 2 cores (or however many the machine has): adding a
worker host adds no CPU, only another process competing for it. So on one machine the
curve measures the *overhead* of scaling out (more connections, more claim queries, more
heartbeats, more Node pools), not a speed-up: flat runs/s from 1 to 3 hosts means
the coordination costs little; a falling curve would mean the hosts get in each other's
way (lock contention on the runs table, claim races). The CPU table says where the time
goes: per run, the worker hosts' sum (the steps in Node, the recording, the Prefect task
runs) against the API (intake), PostgreSQL and the Prefect server.

What it predicts for real hosts: each worker host brings its own cores, so runs/s grows
with worker hosts until a shared part saturates. That ceiling is set by the shared hosts'
CPU per run in this table: roughly (cores of the PostgreSQL host / its CPU s per run), and
likewise for the Prefect server and the API. The worker hosts' CPU per run says how many
runs/s one worker core sustains.
"""


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in cpuinfo.splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpu_model": model,
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "loadavg_start": os.getloadavg(),
    }


def send(topo: Topology, chain: Chain, count: int, threads: int = 4) -> list[uuid.UUID]:
    """`count` webhooks at once from `threads` clients; the acknowledged run ids."""
    with httpx.Client() as client, ThreadPoolExecutor(threads) as pool:
        futures = [
            pool.submit(post_webhook, client, topo.api_url, chain.trigger_id, n)
            for n in range(count)
        ]
        return [f.result() for f in futures]


def send_paced(topo: Topology, chain: Chain, rate: float, seconds: float) -> list[uuid.UUID]:
    """`rate` webhooks/s for `seconds` (each sent on its schedule, in its own thread)."""
    acknowledged: list[uuid.UUID] = []
    lock = threading.Lock()
    t0 = time.monotonic()
    with httpx.Client() as client, ThreadPoolExecutor(8) as pool:

        def one(n: int) -> None:
            run_id = post_webhook(client, topo.api_url, chain.trigger_id, n)
            with lock:
                acknowledged.append(run_id)

        futures = []
        for n in range(int(rate * seconds)):
            delay = t0 + n / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(one, n))
        for future in futures:
            future.result()
    return acknowledged


def latencies_ms(topo: Topology, run_ids: list[uuid.UUID]) -> list[float]:
    rows = query(
        topo.database_url,
        "SELECT extract(epoch FROM finished_at - inserted_at) * 1000 FROM runs WHERE id = ANY(%s)",
        [str(r) for r in run_ids],
    )
    return [float(ms) for (ms,) in rows]


def exactly_once(topo: Topology, run_ids: list[uuid.UUID], steps: int) -> dict[str, int]:
    """Runs per work order and successful steps per run of the acknowledged runs."""
    ids = [str(r) for r in run_ids]
    (runs_of_work_orders,) = query(
        topo.database_url,
        "SELECT count(*) FROM runs WHERE work_order_id IN "
        "(SELECT work_order_id FROM runs WHERE id = ANY(%s))",
        ids,
    )[0]
    (steps_ok,) = query(
        topo.database_url,
        "SELECT count(*) FROM steps WHERE run_id = ANY(%s) AND exit_reason = 'success'",
        ids,
    )[0]
    (succeeded,) = query(
        topo.database_url,
        "SELECT count(*) FROM runs WHERE id = ANY(%s) AND state = 'success'",
        ids,
    )[0]
    return {
        "acknowledged": len(run_ids),
        "succeeded": int(succeeded),
        "runs_of_their_work_orders": int(runs_of_work_orders),
        "successful_steps": int(steps_ok),
        "expected_steps": len(run_ids) * steps,
    }


def host_cpu(topo: Topology) -> dict[str, float]:
    return {name: cpu_seconds(p.pids()) for name, p in topo.processes.items()}


def measure(topo: Topology, chain: Chain, args: argparse.Namespace) -> dict[str, Any]:
    workers = len(topo.worker_hosts())
    log(f"{workers} worker host(s): warm-up")
    wait_finished(topo.database_url, send(topo, chain, 4 * workers), timeout=180)
    log(f"{workers} worker host(s): burst of {args.burst}")
    cpu0, load0 = host_cpu(topo), os.getloadavg()
    sent_at = dt.datetime.now(dt.UTC)
    burst = send(topo, chain, args.burst)
    wait_finished(topo.database_url, burst, timeout=args.timeout)
    cpu1 = host_cpu(topo)
    (last,) = query(
        topo.database_url,
        "SELECT max(finished_at) FROM runs WHERE id = ANY(%s)",
        [str(r) for r in burst],
    )[0]
    window = (last - sent_at).total_seconds()
    burst_ms = latencies_ms(topo, burst)
    log(f"{workers} worker host(s): burst {len(burst) / window:.2f} runs/s; paced {args.rate}/s")
    paced = send_paced(topo, chain, args.rate, args.paced_seconds)
    wait_finished(topo.database_url, paced, timeout=args.timeout)
    paced_ms = latencies_ms(topo, paced)
    cpu = {name: round(cpu1.get(name, 0) - cpu0.get(name, 0), 2) for name in cpu1}
    return {
        "worker_hosts": workers,
        "burst_runs": len(burst),
        "window_s": round(window, 2),
        "runs_per_s": round(len(burst) / window, 2),
        "burst_latency_ms": {"p50": quantile(burst_ms, 0.5), "p95": quantile(burst_ms, 0.95)},
        "paced_rate": args.rate,
        "paced_runs": len(paced),
        "paced_latency_ms": {"p50": quantile(paced_ms, 0.5), "p95": quantile(paced_ms, 0.95)},
        "cpu_s_during_burst": cpu,
        "cpu_ms_per_run": {n: round(1000 * s / len(burst), 1) for n, s in cpu.items()},
        "loadavg": [load0, os.getloadavg()],
        "exactly_once": exactly_once(topo, burst + paced, 3),
    }


def report(
    facts: dict[str, Any],
    results: list[dict[str, Any]],
    args: argparse.Namespace,
    fallback: str | None,
) -> str:
    lines = [
        f"# Scale-out curve ({dt.date.today().isoformat()})",
        "",
        f"`{' '.join(sys.argv)}`",
        "",
        f"Machine: {facts['cpu_model']}, {facts['cores']} cores, kernel {facts['kernel']}, "
        f"Python {facts['python']}. Load average at start "
        f"{', '.join(f'{v:.2f}' for v in facts['loadavg_start'])}.",
        "",
        "Topology: "
        + (
            f"NOT isolated ({fallback}): processes on 127.0.0.1."
            if fallback
            else "PostgreSQL, Prefect server, API and each worker in its own network "
            "namespace on a private bridge, started from deployments/services.yaml."
        ),
        "",
        "| worker hosts | runs/s (burst) | burst p50 / p95 ms | paced rate | "
        "webhook-to-finished p50 / p95 ms | load avg (1 min) | exactly once |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        once = r["exactly_once"]
        ok = (
            once["succeeded"] == once["acknowledged"] == once["runs_of_their_work_orders"]
            and once["successful_steps"] == once["expected_steps"]
        )
        lines.append(
            f"| {r['worker_hosts']} | {r['runs_per_s']} | "
            f"{r['burst_latency_ms']['p50']:.0f} / {r['burst_latency_ms']['p95']:.0f} | "
            f"{r['paced_rate']}/s x {r['paced_runs']} | "
            f"{r['paced_latency_ms']['p50']:.0f} / {r['paced_latency_ms']['p95']:.0f} | "
            f"{r['loadavg'][0][0]:.2f} -> {r['loadavg'][1][0]:.2f} | "
            f"{'yes' if ok else 'NO'} ({once['succeeded']}/{once['acknowledged']}) |"
        )
    lines += ["", "CPU per host during the burst (ms of CPU per run):", ""]
    hosts = sorted({h for r in results for h in r["cpu_ms_per_run"]})
    lines.append("| worker hosts | " + " | ".join(hosts) + " |")
    lines.append("|---|" + "---|" * len(hosts))
    for r in results:
        cells = [str(r["cpu_ms_per_run"].get(h, "")) for h in hosts]
        lines.append(f"| {r['worker_hosts']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", default="1,2,3", help="worker host counts, ascending")
    parser.add_argument("--burst", type=int, default=120, help="webhooks sent at once")
    parser.add_argument("--rate", type=float, default=5.0, help="paced webhooks/s")
    parser.add_argument("--paced-seconds", type=float, default=20.0)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args(argv)
    counts = [int(c) for c in args.hosts.split(",")]
    facts = machine()
    results: list[dict[str, Any]] = []
    with Topology(workers=counts[0]) as topo:
        chain = provision_chain(topo.api_url, topo.api_token(), [QUICK_STEP] * 3)
        for count in counts:
            while len(topo.worker_hosts()) < count:
                topo.add_worker("worker")
            results.append(measure(topo, chain, args))
            log(json.dumps(results[-1]["exactly_once"]))
        fallback = topo.fallback_reason
    facts["loadavg_end"] = os.getloadavg()
    text = report(facts, results, args, fallback)
    print("\n" + text)
    if not args.no_save:
        RESULTS_DIR.mkdir(exist_ok=True)
        stem = RESULTS_DIR / f"scale-out-{dt.date.today().isoformat()}"
        stem.with_suffix(".json").write_text(
            json.dumps(
                {"command": sys.argv, "machine": facts, "results": results}, indent=2, default=str
            )
            + "\n"
        )
        stem.with_suffix(".md").write_text(text + READING)
        log(f"wrote {stem.relative_to(ROOT)}.md and .json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
