"""Soak under faults: steady webhook load for a long time while the platform is hurt.

    .venv/bin/python benchmarks/soak.py                    # 30 minutes at 50 webhooks/s
    .venv/bin/python benchmarks/soak.py --minutes 6 --rate 10 --kill-every 2   # short version

The platform runs as in deployments/compose.yaml, each part a process of its own: a
PostgreSQL cluster of the soak's own (initdb'd into a temporary directory, another port;
benchmarks/soak_cluster.py), `prefect server start` on it, `lightning-flows up --no-worker`
(the API) and `--workers` x `lightning-flows worker`. A load generator posts `--rate`
webhooks/s to a `--steps`-step workflow, on schedule, with at most `--max-in-flight`
requests open (bounded: a request that would exceed it is counted as shed, not queued).

Faults: every `--kill-every` minutes a random worker is killed (SIGKILL, its Node
processes too) and started again `--restart-after` seconds later; once, at 40% of the
time, PostgreSQL restarts (fast mode: every connection cut); once, at 70%, the Prefect
server restarts. Every minute the RSS of every process tree is sampled.

Then the load stops and the soak waits (`--drain` seconds at most) for every acknowledged
run to finish, and checks: acknowledged = finished (success), no job of a run succeeded
twice. The report (benchmarks/results/soak-<date>.md, or --output) has p99 latencies per
5-minute window (the acknowledgement and webhook-to-finished), the fault timeline and the
RSS trend of every process (least squares, MB per hour).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import functools
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from engine import (
    ENCRYPTION_KEY,
    RESULTS_DIR,
    ROOT,
    Children,
    free_port,
    log,
    machine_facts,
)
from soak_cluster import Cluster
from soak_report import Sent, render

JOB = "fn(state => ({ ...state, data: { n: (state.data.n || 0) + 1 } }));"


@dataclass
class Load:
    """Webhooks at a fixed rate from an event loop in a thread."""

    url: str
    rate: float
    max_in_flight: int
    sent: list[Sent] = field(default_factory=list)
    shed: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        asyncio.run(self._main())

    def stop(self) -> None:
        self._stop.set()

    async def _main(self) -> None:
        limits = httpx.Limits(max_connections=self.max_in_flight)
        async with httpx.AsyncClient(timeout=30, limits=limits) as http:
            slots = asyncio.Semaphore(self.max_in_flight)
            start = due = time.monotonic()
            tasks: set[asyncio.Task[None]] = set()
            n = 0
            while not self._stop.is_set():
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                due += 1 / self.rate
                n += 1
                if slots.locked():
                    self.shed += 1
                    continue
                await slots.acquire()
                task = asyncio.create_task(self._post(http, slots, n, due - start))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            await asyncio.gather(*tasks)

    async def _post(self, http: httpx.AsyncClient, slots: asyncio.Semaphore, n: int, at: float):
        began = time.monotonic()
        try:
            answer = await http.post(self.url, json={"n": n})
            run_id = uuid.UUID(answer.json()["run_id"]) if answer.status_code == 200 else None
            status = str(answer.status_code)
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            run_id, status = None, type(exc).__name__
        finally:
            slots.release()
        self.sent.append(Sent(at, time.monotonic() - began, run_id, status))


class Platform:
    """The processes of the platform, started as the compose file starts them."""

    def __init__(self, args: argparse.Namespace, work: Path, cluster: Cluster) -> None:
        self.args, self.work, self.cluster = args, work, cluster
        self.children = Children()
        self.prefect_port, self.api_port = free_port(), free_port()
        self.prefect: Any = None
        self.api: Any = None
        self.workers: list[Any] = []
        self.base = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "LIGHTNING_"))},
            "LIGHTNING_ENV": "production",
            "LIGHTNING_DATABASE_URL": cluster.url("lightning"),
            "LIGHTNING_ENCRYPTION_KEY": ENCRYPTION_KEY,
            "LIGHTNING_NODE_POOL_SIZE": "2",
            "PREFECT_API_URL": f"http://127.0.0.1:{self.prefect_port}/api",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        }

    def env(self, name: str, **extra: str) -> dict[str, str]:
        home = self.work / name
        home.mkdir(exist_ok=True)
        return {**self.base, "LIGHTNING_DATA_DIR": str(home), "PREFECT_HOME": str(home), **extra}

    def start_prefect(self) -> None:
        argv = [str(Path(sys.executable).parent / "prefect"), "server", "start"]
        env = self.env(
            "prefect",
            PREFECT_SERVER_DATABASE_CONNECTION_URL=self.cluster.url("prefect", "asyncpg"),
        )
        argv += ["--host", "127.0.0.1", "--port", str(self.prefect_port)]
        self.prefect = self.children.spawn(argv, self.work / "prefect.log", env)
        wait_http(f"http://127.0.0.1:{self.prefect_port}/api/health", self.prefect)

    def start_api(self) -> None:
        argv = [*cli(), "up", "--host", "127.0.0.1", "--no-worker"]
        env = self.env("api", LIGHTNING_PORT=str(self.api_port))
        self.api = self.children.spawn(argv, self.work / "api.log", env)
        wait_http(f"http://127.0.0.1:{self.api_port}/health", self.api)

    def start_worker(self, slot: int) -> Any:
        argv = [*cli(), "worker", "--concurrency", str(self.args.concurrency)]
        proc = self.children.spawn(argv, self.work / f"worker-{slot}.log", self.env(f"w{slot}"))
        if slot < len(self.workers):
            self.workers[slot] = proc
        else:
            self.workers.append(proc)
        return proc

    def wait_workers_serving(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        logs = [self.work / f"worker-{slot}.log" for slot in range(len(self.workers))]
        while not all("serving" in path.read_text(errors="replace") for path in logs):
            if time.monotonic() > deadline:
                raise SystemExit(f"the workers did not start in {timeout:.0f}s; see {logs}")
            time.sleep(0.5)

    def kill_worker(self, slot: int) -> None:
        proc = self.workers[slot]
        os.killpg(proc.pid, signal.SIGKILL)  # the worker and its Node processes
        proc.wait(10)
        self.children.procs.remove(proc)

    def restart_prefect(self) -> None:
        self.children.stop(self.prefect)
        self.start_prefect()

    def roots(self) -> dict[str, int]:
        """Role -> root pid of every live process tree, for RSS sampling."""
        found = {"api": self.api.pid, "prefect": self.prefect.pid}
        found.update({f"worker-{i}": w.pid for i, w in enumerate(self.workers)})
        postmaster = self.cluster.postmaster_pid()
        if postmaster:
            found["postgres"] = postmaster
        return found


def cli() -> list[str]:
    return [str(Path(sys.executable).parent / "lightning-flows")]


def wait_http(url: str, proc: Any, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{proc.args} exited with {proc.returncode}; see its log")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{url} did not answer in {timeout:.0f}s")


def tree_rss_mb(root: int) -> float:
    """Resident memory of `root` and its descendants (MB)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            pages = int((entry / "statm").read_text().split()[1])
        except OSError:
            continue
        parents[int(entry.name)] = int(stat[stat.rindex(")") + 2 :].split()[1])
        rss[int(entry.name)] = pages
    tree, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid in rss and pid not in tree:
            tree.add(pid)
            todo += [child for child, parent in parents.items() if parent == pid]
    return sum(rss[p] for p in tree) * os.sysconf("SC_PAGE_SIZE") / 1e6


def faults_plan(args: argparse.Namespace) -> list[tuple[float, str]]:
    """(second, fault) pairs: worker kills every --kill-every minutes, one PostgreSQL and one
    Prefect restart, kept at least 30 s apart."""
    total = args.minutes * 60
    plan = [(total * 0.4, "restart postgres"), (total * 0.7, "restart prefect")]
    kills = []
    t = args.kill_every * 60
    while t < total - 30:
        while clash := [at for at, _ in plan + kills if abs(t - at) < 30]:
            t = max(clash) + 30  # after the other fault, not on top of it
        if t < total - 30:
            kills.append((t, "kill worker"))
        t += args.kill_every * 60
    return sorted(plan + kills)


def drain(acked: list[uuid.UUID], timeout: float) -> dict[uuid.UUID, tuple[str, Any, Any]]:
    """Wait until every acknowledged run is final; (state, inserted_at, finished_at) by id."""
    from sqlmodel import Session, col, select

    from lightning_flows.runs.models import Run
    from lightning_flows.runs.states import FINAL_RUN_STATES

    deadline = time.monotonic() + timeout
    found: dict[uuid.UUID, tuple[str, Any, Any]] = {}
    while True:
        found = {}
        with Session(engine()) as session:
            for start in range(0, len(acked), 5000):
                chunk = acked[start : start + 5000]
                rows = session.exec(
                    select(Run.id, Run.state, Run.inserted_at, Run.finished_at).where(
                        col(Run.id).in_(chunk)
                    )
                ).all()
                found.update({r[0]: (r[1], r[2], r[3]) for r in rows})
        pending = [i for i in acked if i not in found or found[i][0] not in FINAL_RUN_STATES]
        if not pending or time.monotonic() > deadline:
            log(f"drain: {len(acked) - len(pending)}/{len(acked)} acknowledged runs final")
            return found
        time.sleep(2)


@functools.cache
def engine() -> Any:
    """The soak's own reading connection; it outlives the PostgreSQL restart (pre-ping)."""
    from sqlalchemy import create_engine

    return create_engine(os.environ["LIGHTNING_DATABASE_URL"], pool_pre_ping=True)


def doubled_jobs() -> int:
    """Jobs of a run that succeeded more than once."""
    from sqlmodel import Session, func, select

    from lightning_flows.runs.models import Step

    with Session(engine()) as session:
        rows = session.exec(
            select(Step.run_id, Step.job_id)
            .where(Step.exit_reason == "success")
            .group_by(Step.run_id, Step.job_id)
            .having(func.count() > 1)
        ).all()
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--rate", type=float, default=50, help="webhooks per second")
    parser.add_argument("--max-in-flight", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=4, help="runs per worker at once")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--kill-every", type=float, default=3, help="minutes between kills")
    parser.add_argument("--restart-after", type=float, default=5, help="seconds")
    parser.add_argument("--drain", type=float, default=600, help="seconds to finish the queue")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()
    random.seed(args.seed)
    work = Path(tempfile.mkdtemp(prefix="lf-soak-"))
    cluster = Cluster(free_port())
    platform = Platform(args, work, cluster)
    os.environ.update(platform.env("bench"))  # this process creates the workflow
    facts = machine_facts()
    try:
        cluster.start()
        cluster.create_database("lightning")
        cluster.create_database("prefect")
        platform.start_prefect()
        platform.start_api()
        for slot in range(args.workers):
            platform.start_worker(slot)
        from engine import create_fixture

        fixture = create_fixture({"soak": args.steps})
        platform.wait_workers_serving()
        trigger = fixture.workflows["soak"].triggers[0].id
        log(f"platform up under {work}; PostgreSQL on port {cluster.port}")
        report = soak(args, platform, f"http://127.0.0.1:{platform.api_port}/i/{trigger}")
    finally:
        platform.children.stop_all()
        cluster.remove()
        shutil.rmtree(work, ignore_errors=True)
    facts["loadavg_end"] = os.getloadavg()
    text = render(args, facts, report)
    out = args.output or RESULTS_DIR / f"soak-{dt.date.today().isoformat()}.md"
    out.write_text(text)
    print(text)
    log(f"written to {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")


def soak(args: argparse.Namespace, platform: Platform, url: str) -> dict[str, Any]:
    load = Load(url, args.rate, args.max_in_flight)
    sender = threading.Thread(target=load.run, daemon=True)
    plan = faults_plan(args)
    timeline: list[tuple[float, str]] = []
    rss: dict[tuple[str, int], list[tuple[float, float]]] = defaultdict(list)
    start = time.monotonic()
    sender.start()
    next_sample = 0.0
    while (elapsed := time.monotonic() - start) < args.minutes * 60:
        if elapsed >= next_sample:
            for role, pid in platform.roots().items():
                rss[(role, pid)].append((elapsed / 60, tree_rss_mb(pid)))
            next_sample += 60
        if plan and elapsed >= plan[0][0]:
            _, fault = plan.pop(0)
            timeline.append((elapsed, inflict(fault, platform, args)))
            log(timeline[-1][1])
        time.sleep(0.5)
    load.stop()
    sender.join(60)
    acked = [s.run_id for s in load.sent if s.run_id is not None]
    log(f"load stopped: {len(load.sent)} sent, {len(acked)} acknowledged, {load.shed} shed")
    runs = drain(acked, args.drain)
    return {
        "load": load,
        "runs": runs,
        "doubled": doubled_jobs(),
        "timeline": timeline,
        "rss": rss,
        "seconds": time.monotonic() - start,
    }


def inflict(fault: str, platform: Platform, args: argparse.Namespace) -> str:
    began = time.monotonic()
    if fault == "kill worker":
        slot = random.randrange(len(platform.workers))
        platform.kill_worker(slot)
        time.sleep(args.restart_after)
        platform.start_worker(slot)
        return f"worker-{slot} killed (SIGKILL), started again after {args.restart_after:g} s"
    if fault == "restart postgres":
        platform.cluster.restart()
        return f"PostgreSQL restarted (fast) in {time.monotonic() - began:.1f} s"
    platform.restart_prefect()
    return f"Prefect server restarted in {time.monotonic() - began:.1f} s"


if __name__ == "__main__":
    main()
