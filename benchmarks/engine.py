"""Engine benchmark: per-step overhead over bare @openfn/runtime, and 3-step runs/s.

    .venv/bin/python benchmarks/engine.py [--runs 60] [--database postgresql|sqlite]

(1) Step overhead. The same job (`fn(state => ({...state, data: {n: n + 1}}))`
with language-common) is timed (a) in one warm Node process by @openfn/runtime
alone (benchmarks/bare-runtime.mjs) and (b) as a step of a real run: one
worker process (concurrency 1) executes a 1-step and an (S+1)-step workflow
alternately; per-step cost = (median run time of the long one - median of the
short one) / S, run time being Run.started_at..finished_at as the flow records
it. Everything per run (flow-run setup, claim, start, finish) cancels out;
everything per step (the Prefect task run, recording, the Node round trip, the
walker) stays. Overhead = that per-step cost - the bare runtime median. The
worker is instrumented to split a step into its parts.

(2) Throughput. K 3-step runs are enqueued at once (as the webhook does: one
transaction each) and two worker processes (`Worker` class, default
concurrency) execute them; runs/s = K / (last finished_at - first enqueue).
Baseline in the same session, against the same Prefect server: an equivalent
3-task flow served with stock `flow.serve()` (benchmarks/baseline_flow.py, its
defaults: 10 s poll, a process per run, no limit), K' flow runs created
from its deployment; runs/s = K' / (last end_time - first create).

Everything lives under benchmarks/.work/ and is removed at the end, child
processes included (also on Ctrl-C); the results go to
benchmarks/results/engine-<date>.md and .json.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import functools
import itertools
import json
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess  # nosec B404
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
NODE_DIR = ROOT / "adaptor_tasks" / "node"
WORK_DIR = BENCH_DIR / ".work"
RESULTS_DIR = BENCH_DIR / "results"
JOB = "fn(state => ({ ...state, data: { n: state.data.n + 1 } }));"
ADAPTOR = "@openfn/language-common@3.3.4"
ENCRYPTION_KEY = "qWlVLzBmHZsIqfcIiJ0yO5IDBwZrHAwU8hVgQm4f0Jg="  # benchmark-only key
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
BASELINE_FLOW = BASELINE_DEPLOYMENT = "lf-bench-baseline"  # benchmarks/baseline_flow.py
MAIN_APP_NAME = "lf-bench-main"  # the benchmark's own connections, left out of CPU counts
TARGET_OVERHEAD_MS = 15.0
TARGET_RUNS_PER_S = 15.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# ---------------------------------------------------------------- statistics


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def quantile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def summary(values: Sequence[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "median": round(median(values), 3),
        "p90": round(quantile(values, 0.9), 3),
        "min": round(min(values), 3) if values else float("nan"),
    }


# ---------------------------------------------------------------- CPU accounting (/proc)


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds of the process and its reaped children)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    ticks = sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
    return int(fields[1]), ticks / CLK_TCK


def _all_stats() -> dict[int, tuple[int, float, str]]:
    out = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None:
                try:
                    comm = (entry / "comm").read_text().strip()
                except OSError:
                    comm = ""
                out[int(entry.name)] = (*stat, comm)
    return out


def tree_pids(roots: Sequence[int], stats: dict[int, tuple[int, float, str]]) -> set[int]:
    """`roots` and all their live descendants."""
    children: dict[int, list[int]] = defaultdict(list)
    for pid, (ppid, _cpu, _comm) in stats.items():
        children[ppid].append(pid)
    found, todo = set(), list(roots)
    while todo:
        pid = todo.pop()
        if pid in stats and pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, []))
    return found


def system_busy() -> float:
    """CPU seconds all cores spent busy since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / CLK_TCK


class CpuProbe:
    """CPU seconds used during a window, per group of process trees, and by the machine.

    Each group is a callable returning root pids (a tree: the roots and their
    descendants, e.g. a worker and its Node processes; children reaped in the
    window count through their parent). A process born in the window counts
    whole; one that ended unreaped in it is missed.
    """

    def __init__(self, groups: dict[str, Callable[[], Sequence[int]]]) -> None:
        self.groups = groups
        self.used: dict[str, float] = {}

    def _sample(self) -> tuple[dict[str, dict[int, float]], float]:
        stats = _all_stats()
        per_group = {
            name: {pid: stats[pid][1] for pid in tree_pids(roots(), stats)}
            for name, roots in self.groups.items()
        }
        return per_group, system_busy()

    def __enter__(self) -> CpuProbe:
        self._start, self._start_busy = self._sample()
        self._t0 = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        end, busy = self._sample()
        for name, pids in end.items():
            before = self._start[name]
            self.used[name] = round(sum(cpu - before.get(pid, 0.0) for pid, cpu in pids.items()), 3)
        self.used["machine (all)"] = round(busy - self._start_busy, 3)
        self.wall_s = time.monotonic() - self._t0


# ---------------------------------------------------------------- child processes


class Children:
    """Child processes, each in its own session; all stopped (group-wide) at the end."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def spawn(self, argv: list[str], log_path: Path, env: dict[str, str] | None = None) -> Any:
        with log_path.open("ab") as out:
            proc = subprocess.Popen(  # nosec B603
                argv,
                cwd=ROOT,
                env=env or dict(os.environ),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.procs.append(proc)
        return proc

    def add(self, proc: subprocess.Popen[bytes]) -> None:
        self.procs.append(proc)

    def stop(self, proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
        """SIGTERM the process (graceful), then SIGKILL its whole process group."""
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # node workers, flow-run subprocesses
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)
        if proc in self.procs:
            self.procs.remove(proc)

    def stop_all(self) -> None:
        for proc in reversed(list(self.procs)):
            self.stop(proc, timeout=10)


# ---------------------------------------------------------------- machine facts


def _cmd(argv: list[str]) -> str:
    try:
        return subprocess.run(  # nosec B603
            argv, capture_output=True, text=True, timeout=20, check=False, cwd=ROOT
        ).stdout.strip()
    except OSError:
        return "?"


def machine_facts() -> dict[str, Any]:
    import prefect

    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"model name\s*:\s*(.+)", cpuinfo)
    mem = re.search(r"MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text())
    commit = _cmd(["git", "rev-parse", "--short", "HEAD"])
    dirty = bool(_cmd(["git", "status", "--porcelain", "--untracked-files=no"]))
    return {
        "cpu_model": model.group(1).strip() if model else platform.processor(),
        "cores": os.cpu_count(),
        "ram_gib": round(int(mem.group(1)) / 1024 / 1024, 1) if mem else None,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "node": _cmd(["node", "--version"]),
        "prefect": prefect.__version__,
        "runtime": json.loads((NODE_DIR / "node_modules/@openfn/runtime/package.json").read_text())[
            "version"
        ],
        "git": commit + (" (with uncommitted changes)" if dirty else ""),
        "loadavg_start": os.getloadavg(),
    }


# ---------------------------------------------------------------- environment


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pg_available(server_url: str) -> bool:
    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(server_url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


class PgDatabases:
    """Fresh databases on a PostgreSQL server, dropped at the end."""

    def __init__(self, server_url: str) -> None:
        from sqlalchemy import create_engine

        self.server_url = server_url
        self.admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
        self.names: list[str] = []

    def create(self, name: str) -> str:
        from sqlalchemy import text

        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.names.append(name)
        return name

    def url(self, name: str, driver: str) -> str:
        from sqlalchemy.engine import make_url

        url = make_url(self.server_url).set(database=name, drivername=driver)
        return url.render_as_string(hide_password=False)

    def backend_pids(self, name: str) -> list[int]:
        """Server processes serving database `name` (except the benchmark's own polling)."""
        from sqlalchemy import text

        with self.admin.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = :name "
                    "AND application_name <> :me"
                ),
                {"name": name, "me": MAIN_APP_NAME},
            )
            return [int(r[0]) for r in rows]

    def version(self) -> str:
        from sqlalchemy import text

        with self.admin.connect() as conn:
            return str(conn.execute(text("SHOW server_version")).scalar())

    def drop_all(self) -> None:
        from sqlalchemy import text

        with self.admin.connect() as conn:
            for name in self.names:
                with contextlib.suppress(Exception):
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.names.clear()
        self.admin.dispose()


# ---------------------------------------------------------------- platform fixtures


@dataclass
class Fixture:
    project_id: uuid.UUID
    workflows: dict[str, Any]  # name -> WorkflowPublic


def create_fixture(chains: dict[str, int]) -> Fixture:
    """A user, a project and one chained workflow of `n` identical steps per entry."""
    from lightning_flows.accounts import service as accounts
    from lightning_flows.accounts.schemas import UserCreate
    from lightning_flows.core.db import session_scope
    from lightning_flows.engine.prefect.deployments import sync_deployment
    from lightning_flows.projects import service as projects
    from lightning_flows.projects.schemas import ProjectCreate
    from lightning_flows.workflows import service as workflows
    from lightning_flows.workflows.schemas import EdgeDoc, JobDoc, TriggerDoc, WorkflowDocument

    with session_scope() as session:
        user = accounts.create_user(
            session,
            UserCreate(
                email=f"bench-{uuid.uuid4().hex[:8]}@example.org", password=uuid.uuid4().hex
            ),
        )
        project = projects.create_project(
            session, ProjectCreate(name=f"bench-{uuid.uuid4().hex[:8]}"), user
        )
        created = {}
        for name, n in chains.items():
            jobs = [
                JobDoc(id=uuid.uuid4(), name=f"step {i + 1}", body=JOB, adaptor=ADAPTOR)
                for i in range(n)
            ]
            trigger = TriggerDoc(id=uuid.uuid4(), type="webhook")  # type: ignore[arg-type]
            edges = [
                EdgeDoc(
                    id=uuid.uuid4(),
                    source_trigger_id=trigger.id,
                    target_job_id=jobs[0].id,
                    condition_type="always",
                )
            ]
            edges += [
                EdgeDoc(
                    id=uuid.uuid4(),
                    source_job_id=a.id,
                    target_job_id=b.id,
                    condition_type="on_job_success",
                )
                for a, b in itertools.pairwise(jobs)
            ]
            doc = WorkflowDocument(name=name, jobs=jobs, triggers=[trigger], edges=edges)
            created[name] = workflows.create_workflow(session, project.id, doc, actor_id=None)
        project_id = project.id
    for wf in created.values():
        sync_deployment(wf.id)  # outside the timed part, as saving a workflow does
    return Fixture(project_id, created)


def enqueue(workflow: Any, n0: int = 0) -> uuid.UUID:
    """A work order + `available` run, as the webhook writes them (one transaction)."""
    from lightning_flows.core.db import session_scope
    from lightning_flows.runs import service as runs
    from lightning_flows.runs.models import DataclipType
    from lightning_flows.workflows import service as workflows
    from lightning_flows.workflows.models import Workflow

    with session_scope() as session:
        wf = session.get(Workflow, workflow.id)
        snapshot = workflows.latest_snapshot(session, workflow.id)
        enqueued = runs.create_work_order(
            session,
            workflow=wf,  # type: ignore[arg-type]
            snapshot=snapshot,
            body={"n": n0},
            dataclip_type=DataclipType.HTTP_REQUEST,
            trigger_id=workflow.triggers[0].id,
        )
        return enqueued.run.id


def wait_runs(run_ids: Sequence[uuid.UUID], timeout: float, partial: bool = False) -> list[Any]:
    """Poll until every run is final; returns the rows (detached).

    At the timeout: raises, or with `partial` returns the rows as they are.
    """
    from sqlmodel import col, select

    from lightning_flows.core.db import session_scope
    from lightning_flows.runs.models import Run
    from lightning_flows.runs.states import FINAL_RUN_STATES

    finals = {s.value for s in FINAL_RUN_STATES}
    deadline = time.monotonic() + timeout
    while True:
        with session_scope() as session:
            rows = list(session.exec(select(Run).where(col(Run.id).in_(list(run_ids)))).all())
        done = [r for r in rows if r.state in finals]
        if len(done) == len(run_ids):
            return rows
        if time.monotonic() > deadline:
            if partial:
                log(f"timeout: {len(done)}/{len(run_ids)} runs final after {timeout:.0f}s")
                return rows
            raise TimeoutError(f"{len(done)}/{len(run_ids)} runs final after {timeout:.0f}s")
        time.sleep(0.05)


def steps_of(run_ids: Sequence[uuid.UUID]) -> list[Any]:
    from sqlmodel import col, select

    from lightning_flows.core.db import session_scope
    from lightning_flows.runs.models import Step

    with session_scope() as session:
        return list(session.exec(select(Step).where(col(Step.run_id).in_(list(run_ids)))).all())


def ms(a: dt.datetime, b: dt.datetime) -> float:
    return (b - a).total_seconds() * 1000


# ---------------------------------------------------------------- worker role (subprocess)


def _instrument(timings: dict[str, list[float]]) -> None:
    """Time the parts of a step in this process (monkeypatching only, for the benchmark)."""
    from adaptor_tasks.pool import NodePool
    from lightning_flows.engine.prefect.task_runs import TaskRunReporter
    from lightning_flows.engine.recording import RunRecorder
    from lightning_flows.engine.steps import RunExecutor

    def wrap(cls: type, name: str, key: str) -> None:
        original = getattr(cls, name)

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                timings[key].append((time.perf_counter() - started) * 1000)

        setattr(cls, name, timed)

    wrap(RunExecutor, "run_step", "step (walker -> step -> back)")
    wrap(RunExecutor, "_execute", "inside the step")
    wrap(NodePool, "run_step", "node pool round trip")
    wrap(RunRecorder, "start_step", "db: start_step")
    wrap(RunRecorder, "finish_step", "db: finish_step (+logs, dataclip)")
    wrap(TaskRunReporter, "start", "prefect: task run Running event")
    wrap(TaskRunReporter, "finish", "prefect: task run final event")
    wrap(TaskRunReporter, "log", "prefect: forward logs")


_UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _count_calls(counts: dict[str, int]) -> None:
    """Count Prefect API requests, SQL statements, commits and pool pings in this process.

    Keys start with "step" when made while a step executes, "run" otherwise
    (claim, dispatch, run start/end, and background threads such as Prefect's
    log and event workers).
    """
    import httpx
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.engine.default import DefaultDialect

    from lightning_flows.engine.steps import RunExecutor

    lock = threading.Lock()
    in_step = threading.local()
    execute = RunExecutor._execute

    def marked(self: Any, *args: Any, **kwargs: Any) -> Any:
        in_step.on = True
        try:
            return execute(self, *args, **kwargs)
        finally:
            in_step.on = False

    RunExecutor._execute = marked  # type: ignore[method-assign]

    def bump(what: str) -> None:
        key = f"{'step' if getattr(in_step, 'on', False) else 'run'}: {what}"
        with lock:
            counts[key] = counts.get(key, 0) + 1

    def endpoint(request: httpx.Request) -> str:
        path = _UUID_RE.sub("{id}", request.url.path.split("/api", 1)[-1])
        return f"prefect {request.method} {path}"

    sync_send, async_send = httpx.Client.send, httpx.AsyncClient.send

    def send(self: httpx.Client, request: httpx.Request, **kwargs: Any) -> Any:
        bump(endpoint(request))
        return sync_send(self, request, **kwargs)

    async def asend(self: httpx.AsyncClient, request: httpx.Request, **kwargs: Any) -> Any:
        bump(endpoint(request))
        return await async_send(self, request, **kwargs)

    httpx.Client.send = send  # type: ignore[method-assign]
    httpx.AsyncClient.send = asend  # type: ignore[method-assign]

    def on_statement(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        bump(f"sql {statement.lstrip().split(None, 1)[0].upper()}")

    event.listen(Engine, "before_cursor_execute", on_statement)
    event.listen(Engine, "commit", lambda _conn: bump("sql COMMIT"))
    ping = DefaultDialect._do_ping_w_event

    def counted_ping(self: Any, dbapi_connection: Any) -> Any:
        bump("sql pool pre-ping")
        return ping(self, dbapi_connection)

    DefaultDialect._do_ping_w_event = counted_ping  # type: ignore[method-assign]


WHAT_IF = {
    "logs": "step log lines not forwarded to Prefect (still stored by us)",
    "events": "no Prefect task runs: steps send no state-change events (shows their cost)",
}


def apply_what_if(names: Sequence[str], worker: Any) -> None:
    """Experimental patches of the engine, applied in this worker process only.

    They show what a part costs; nothing in the package changes.
    """
    from lightning_flows.engine.prefect.task_runs import TaskRunReporter

    if "logs" in names:
        TaskRunReporter.log = lambda self, lines, task_run_id=None: None  # type: ignore[method-assign]
    if "events" in names:
        TaskRunReporter._emit = lambda self, handle, before, state: None  # type: ignore[method-assign]


def worker_main(args: argparse.Namespace) -> None:
    """`--role worker`: a Worker in this process until SIGTERM (ready file when warm).

    The same `Worker` as `lightning-flows worker`, plus a ready signal once its
    Node pool and Prefect client are up.
    """
    # Every table must be mapped before the first flush (the CLI imports them all
    # on the way; `engine.worker` alone does not).
    import lightning_flows.models  # noqa: F401
    from lightning_flows.core.node_runtime import close_pool, get_pool
    from lightning_flows.engine.prefect.client import prefect_client
    from lightning_flows.engine.worker import Worker

    timings: dict[str, list[float]] = defaultdict(list)
    counts: dict[str, int] = {}
    if args.instrument:
        _instrument(timings)
        _count_calls(counts)
    worker = Worker(concurrency=args.concurrency, name=args.name)
    if args.what_if:
        apply_what_if(args.what_if.split(","), worker)
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    signal.signal(signal.SIGINT, lambda *_: worker.stop())
    get_pool().warm_up()
    prefect_client().hello()
    Path(args.ready).write_text(str(os.getpid()))
    try:
        worker.serve()
    finally:
        if args.instrument:
            Path(args.instrument).write_text(json.dumps({"timings": timings, "counts": counts}))
        close_pool()


# ---------------------------------------------------------------- the benchmark


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.children = Children()
        self.work = WORK_DIR / time.strftime("%Y%m%d-%H%M%S")
        self.pg: PgDatabases | None = None
        self.results: dict[str, Any] = {}
        self.server_pid: int | None = None
        self.platform_db = self.prefect_db = ""
        self.worker_env: dict[str, str] = {}
        self.profile_dir = BENCH_DIR / ".work" / "profiles"

    # ---- setup

    def setup(self) -> None:
        self.work.mkdir(parents=True, exist_ok=True)
        args = self.args
        if args.py_spy:
            self.profile_dir.mkdir(parents=True, exist_ok=True)
        database = args.database
        if database == "auto":
            database = "postgresql" if pg_available(args.pg_url) else "sqlite"
            if database == "sqlite":
                log(f"PostgreSQL not reachable at {args.pg_url}: using SQLite")
        self.database = database
        prefect_db_url = None
        if database == "postgresql":
            self.pg = PgDatabases(args.pg_url)
            tag = uuid.uuid4().hex[:8]
            self.platform_db = self.pg.create(f"lf_bench_{tag}")
            platform_url = self.pg.url(self.platform_db, "postgresql+psycopg")
            if args.prefect_database == "postgresql":
                self.prefect_db = self.pg.create(f"lf_bench_{tag}_prefect")
                prefect_db_url = self.pg.url(self.prefect_db, "postgresql+asyncpg")
        else:
            platform_url = f"sqlite:///{self.work / 'lightning.db'}"
        port = free_port()
        os.environ.update(
            {
                "LIGHTNING_ENV": "development",
                "LIGHTNING_DATA_DIR": str(self.work / "data"),
                "LIGHTNING_DATABASE_URL": platform_url,
                "LIGHTNING_ENCRYPTION_KEY": ENCRYPTION_KEY,
                "LIGHTNING_PREFECT_SYNC": "false",
                "PREFECT_HOME": str(self.work / "prefect"),
                "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            }
        )
        if args.node_pool_size:
            os.environ["LIGHTNING_NODE_POOL_SIZE"] = str(args.node_pool_size)
        self.worker_env = dict(os.environ)
        if platform_url.startswith("postgresql"):
            # The benchmark's own queries (enqueue, polling) are told apart in pg_stat_activity.
            os.environ["LIGHTNING_DATABASE_URL"] = (
                f"{platform_url}?application_name={MAIN_APP_NAME}"
            )
        # Imports that read settings come after the environment is fixed.
        from lightning_flows.core import migrate
        from lightning_flows.engine.prefect.server import start_prefect_server

        self.facts = machine_facts()
        self.facts["platform_db"] = self._describe_db(platform_url)
        self.facts["prefect_db"] = self._describe_db(prefect_db_url or "sqlite")
        if self.pg is not None:
            self.facts["postgresql"] = self.pg.version()
        migrate.upgrade(platform_url)
        log(f"starting the Prefect server ({self.facts['prefect_db']})")
        started = time.monotonic()
        server = start_prefect_server(
            self.work / "prefect", port=port, database_url=prefect_db_url, timeout=180
        )
        self.children.add(server.process)
        self.server_pid = server.process.pid
        self.facts["prefect_server_start_s"] = round(time.monotonic() - started, 1)
        log(f"Prefect server up in {self.facts['prefect_server_start_s']} s at {server.api_url}")

    @staticmethod
    def _describe_db(url: str) -> str:
        return "PostgreSQL" if url.startswith("postgresql") else "SQLite"

    def cleanup(self) -> None:
        self.children.stop_all()
        with contextlib.suppress(Exception):
            from lightning_flows.engine.prefect.client import close_prefect_client

            close_prefect_client()
        with contextlib.suppress(Exception):
            from lightning_flows.core.db import reset_engine

            reset_engine()
        if self.pg is not None:
            self.pg.drop_all()
        if not self.args.keep_work:
            shutil.rmtree(self.work, ignore_errors=True)
            with contextlib.suppress(OSError):
                WORK_DIR.rmdir()

    def cpu_groups(self, executor: str, pids: Callable[[], Sequence[int]]) -> dict[str, Any]:
        groups: dict[str, Callable[[], Sequence[int]]] = {
            executor: pids,
            "prefect server": lambda: [self.server_pid or 0],
        }
        pg = self.pg
        if pg is not None:
            groups["postgres: platform DB"] = lambda: pg.backend_pids(self.platform_db)
            if self.prefect_db:
                groups["postgres: Prefect DB"] = lambda: pg.backend_pids(self.prefect_db)
        return groups

    def idle_cpu(self, executor: str, pids: Callable[[], Sequence[int]]) -> dict[str, float]:
        """CPU seconds per second of each group while no run is waiting (executor idle)."""
        with CpuProbe(self.cpu_groups(executor, pids)) as cpu:
            time.sleep(self.args.idle_seconds)
        return {k: round(v / cpu.wall_s, 3) for k, v in cpu.used.items()}

    @contextlib.contextmanager
    def profiled(self, label: str, pids: dict[str, int]) -> Any:
        """With --py-spy: sample `pids` (name -> pid) while the block runs (collapsed stacks)."""
        if not self.args.py_spy:
            yield
            return
        procs = []
        for name, pid in pids.items():
            out = self.profile_dir / f"{label}-{name}.txt"
            argv = [self.args.py_spy, "record", "--pid", str(pid), "--format", "raw",
                    "--rate", "100", "--nonblocking", "--output", str(out)]  # fmt: skip
            procs.append(self.children.spawn(argv, self.work / f"py-spy-{label}-{name}.log"))
        time.sleep(1.0)  # py-spy attaches
        try:
            yield
        finally:
            for proc in procs:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGINT)
            for proc in procs:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(30)
                self.children.stop(proc, timeout=1)
            log(f"profiles written to {self.profile_dir}")

    # ---- workers

    def start_worker(
        self, name: str, concurrency: int, instrument: Path | None = None, what_if: str = ""
    ) -> Any:
        ready = self.work / f"{name}.ready"
        argv = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--role",
            "worker",
            "--name",
            name,
            "--concurrency",
            str(concurrency),
            "--ready",
            str(ready),
        ]
        if instrument is not None:
            argv += ["--instrument", str(instrument)]
        if what_if:
            argv += ["--what-if", what_if]
        proc = self.children.spawn(argv, self.work / f"{name}.log", self.worker_env)
        proc.ready_path = ready
        return proc

    def wait_ready(self, procs: Sequence[Any], timeout: float = 120) -> list[int]:
        deadline = time.monotonic() + timeout
        for proc in procs:
            while not proc.ready_path.exists():
                if proc.poll() is not None or time.monotonic() > deadline:
                    tail = (self.work / f"{Path(proc.ready_path).stem}.log").read_text()[-3000:]
                    raise RuntimeError(f"worker did not start:\n{tail}")
                time.sleep(0.1)
        return [int(p.ready_path.read_text()) for p in procs]

    # ---- (1) step overhead

    def bare_runtime(self, linking: str) -> list[float]:
        argv = [
            "node",
            "--experimental-vm-modules",
            "--no-warnings",
            str(BENCH_DIR / "bare-runtime.mjs"),
            str(NODE_DIR),
            str(self.args.bare_runs),
            linking,
        ]
        out = subprocess.run(argv, capture_output=True, text=True, check=True, cwd=ROOT)  # nosec B603
        return [float(t) for t in json.loads(out.stdout)["times_ms"]]

    def step_overhead(self, what_if: str = "") -> None:
        args = self.args
        suffix = " + what-if" if what_if else ""
        if not hasattr(self, "_bare"):
            log(f"(1) bare @openfn/runtime, {args.bare_runs} runs x 2 linkings")
            self._bare = (self.bare_runtime("shared"), self.bare_runtime("fresh"))
        bare_shared, bare_fresh = self._bare
        extra = args.chain_steps
        fixture = create_fixture({"one step": 1, f"{extra + 1} steps": extra + 1})
        short, long_ = fixture.workflows["one step"], fixture.workflows[f"{extra + 1} steps"]
        name = "probe-what-if" if what_if else "probe"
        timings_path = self.work / f"{name}-timings.json"
        log(
            f"(1){suffix} tracked steps: 1 worker (concurrency 1), {args.pairs} x (1-step, "
            f"{extra + 1}-step) runs, one at a time"
        )
        proc = self.start_worker(name, 1, instrument=timings_path, what_if=what_if)
        try:
            self._probe(proc, short, long_, name, what_if, timings_path, bare_shared, bare_fresh)
        finally:
            self.children.stop(proc)

    def _probe(
        self,
        proc: Any,
        short: Any,
        long_: Any,
        name: str,
        what_if: str,
        timings_path: Path,
        bare_shared: list[float],
        bare_fresh: list[float],
    ) -> None:
        args = self.args
        extra = args.chain_steps
        suffix = " + what-if" if what_if else ""
        probe_pid = self.wait_ready([proc])[0]
        groups = self.cpu_groups("worker (+node)", lambda: [proc.pid])

        def one_run(workflow: Any, i: int) -> tuple[uuid.UUID, dict[str, float]]:
            with CpuProbe(groups) as cpu:
                run_id = enqueue(workflow, i)
                wait_runs([run_id], 60)
            return run_id, cpu.used

        for i in range(args.warmup):
            one_run(short, i)
            one_run(long_, i)
        short_ids, long_ids = [], []
        cpu_short: dict[str, list[float]] = defaultdict(list)
        cpu_long: dict[str, list[float]] = defaultdict(list)
        with self.profiled(name, {"worker": probe_pid, "server": self.server_pid or 0}):
            for i in range(args.pairs):
                for wf, ids, cpu in ((short, short_ids, cpu_short), (long_, long_ids, cpu_long)):
                    run_id, used = one_run(wf, i)
                    ids.append(run_id)
                    for group, value in used.items():
                        cpu[group].append(value * 1000)
        self.children.stop(proc)  # the worker writes its step timings as it stops
        short_runs, long_runs = wait_runs(short_ids, 5), wait_runs(long_ids, 5)
        bad = [r.state for r in [*short_runs, *long_runs] if r.state != "success"]
        if bad:
            raise RuntimeError(f"probe runs did not succeed: {bad}")
        t_short = [ms(r.started_at, r.finished_at) for r in short_runs]
        t_long = [ms(r.started_at, r.finished_at) for r in long_runs]
        per_step = (median(t_long) - median(t_short)) / extra
        # CPU per step, same difference method, per process group (ms of CPU).
        cpu_per_step = {
            group: round((median(cpu_long[group]) - median(cpu_short[group])) / extra, 2)
            for group in cpu_short
        }
        # Steps of the long runs: time inside the task run, and the gap between steps.
        by_run: dict[uuid.UUID, list[Any]] = defaultdict(list)
        for step in steps_of(long_ids):
            by_run[step.run_id].append(step)
        in_task, gaps = [], []
        for steps in by_run.values():
            steps.sort(key=lambda s: s.started_at)
            in_task += [ms(s.started_at, s.finished_at) for s in steps]
            gaps += [ms(a.finished_at, b.started_at) for a, b in itertools.pairwise(steps)]
        raw = json.loads(timings_path.read_text()) if timings_path.exists() else {}
        # Drop the warm-up runs' samples: keep the last (pairs x steps) of each series.
        n_steps = args.pairs * (extra + 2)
        parts = {k: summary(v[-n_steps:]) for k, v in raw.get("timings", {}).items()}
        # Calls per run / per step, over every run the probe executed (warm-up included).
        runs_done = 2 * (args.warmup + args.pairs)
        steps_done = (args.warmup + args.pairs) * (extra + 2)
        calls = {
            k: round(v / (steps_done if k.startswith("step") else runs_done), 2)
            for k, v in sorted(raw.get("counts", {}).items())
        }
        bare = median(bare_shared)
        self.results["step_overhead" + suffix] = {
            "what_if": what_if,
            "method": "difference of medians of Run.started_at..finished_at, "
            f"{extra + 1}-step vs 1-step workflow, divided by {extra}",
            "bare_runtime_shared_ms": summary(bare_shared),
            "bare_runtime_fresh_ms": summary(bare_fresh),
            "run_1_step_ms": summary(t_short),
            f"run_{extra + 1}_steps_ms": summary(t_long),
            "per_step_ms": round(per_step, 2),
            "overhead_ms": round(per_step - bare, 2),
            "overhead_vs_fresh_ms": round(per_step - median(bare_fresh), 2),
            "cpu_per_step_ms": cpu_per_step,
            "cpu_per_1_step_run_ms": {k: round(median(v), 1) for k, v in cpu_short.items()},
            "step_row_in_task_ms": summary(in_task),
            "gap_between_steps_ms": summary(gaps),
            "parts_ms": parts,
            "calls": calls,
        }
        log(
            f"(1){suffix} per step {per_step:.1f} ms, bare runtime {bare:.1f} ms: "
            f"overhead {per_step - bare:.1f} ms"
        )

    # ---- (2) throughput, ours

    def throughput_ours(self, what_if: str = "") -> None:
        args = self.args
        label = "ours + what-if" if what_if else "ours"
        fixture = create_fixture({"three steps": 3})
        wf = fixture.workflows["three steps"]
        log(
            f"(2) {label}: {args.workers} worker processes x concurrency {args.concurrency}, "
            f"{args.runs} 3-step runs"
        )
        prefix = "what-if-worker" if what_if else "worker"
        procs = [
            self.start_worker(f"{prefix}{i + 1}", args.concurrency, what_if=what_if)
            for i in range(args.workers)
        ]
        try:
            self._throughput(procs, wf, label, what_if)
        finally:
            for proc in procs:
                self.children.stop(proc)

    def _throughput(self, procs: list[Any], wf: Any, label: str, what_if: str) -> None:
        args = self.args
        pids = self.wait_ready(procs)
        wait_runs([enqueue(wf) for _ in range(args.workers * args.concurrency)], 120)  # warm-up
        idle = self.idle_cpu("workers (+node)", lambda: pids)
        targets = {f"worker{i + 1}": pid for i, pid in enumerate(pids)}
        targets["server"] = self.server_pid or 0
        with (
            self.profiled(label.replace(" + ", "-"), targets),
            CpuProbe(self.cpu_groups("workers (+node)", lambda: pids)) as cpu,
        ):
            t0 = dt.datetime.now(dt.UTC)
            ids = [enqueue(wf, i) for i in range(args.runs)]
            enqueued = dt.datetime.now(dt.UTC)
            rows = wait_runs(ids, args.timeout, partial=True)
        ok = [r for r in rows if r.state == "success"]
        finished = [r for r in rows if r.finished_at]
        last = max(r.finished_at for r in finished) if len(finished) == len(rows) else None
        window_s = (last - t0).total_seconds() if last else args.timeout
        started = [r for r in finished if r.started_at and r.claimed_at]
        prefect_ok = self._flow_runs_completed([r.prefect_flow_run_id for r in rows])
        self.results[label] = {
            "what_if": what_if,
            "runs": len(rows),
            "succeeded": len(ok),
            "prefect_flow_runs_completed": prefect_ok,
            "enqueue_s": round((enqueued - t0).total_seconds(), 2),
            "window_s": round(window_s, 2),
            "runs_per_s": round(len(ok) / window_s, 2),
            "latency_ms": summary([ms(r.inserted_at, r.finished_at) for r in finished]),
            "enqueue_to_claimed_ms": summary([ms(r.inserted_at, r.claimed_at) for r in started]),
            "claimed_to_started_ms": summary([ms(r.claimed_at, r.started_at) for r in started]),
            "enqueue_to_started_ms": summary([ms(r.inserted_at, r.started_at) for r in started]),
            "started_to_finished_ms": summary([ms(r.started_at, r.finished_at) for r in started]),
            "cpu_s": cpu.used,
            "idle_cpu_per_s": idle,
        }
        log(
            f"(2) {label}: {len(ok)}/{len(rows)} in {window_s:.1f} s = "
            f"{len(ok) / window_s:.2f} runs/s"
        )

    def _flow_runs_completed(self, flow_run_ids: Sequence[uuid.UUID | None]) -> int:
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

        from lightning_flows.engine.prefect.client import prefect_client

        ids = [i for i in flow_run_ids if i is not None]
        deadline = time.monotonic() + 30  # the flow run ends just after the run row does
        while True:
            found = prefect_client().read_flow_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)), limit=len(ids) or 1
            )
            done = sum(1 for fr in found if fr.state is not None and fr.state.is_completed())
            if done == len(ids) or time.monotonic() > deadline:
                return done
            time.sleep(0.2)

    # ---- (2) throughput, baseline

    def throughput_baseline(self, label: str, poll_s: float | None) -> None:

        from lightning_flows.engine.prefect.client import prefect_client

        args = self.args
        client = prefect_client()
        env = dict(self.worker_env)
        if poll_s is not None:
            env["PREFECT_RUNNER_POLL_FREQUENCY"] = str(poll_s)
        log(f"(2) baseline {label}: flow.serve(), {args.baseline_runs} flow runs")
        proc = self.children.spawn(
            [sys.executable, str(BENCH_DIR / "baseline_flow.py")],
            self.work / f"serve-{re.sub(r'[^a-z0-9]+', '-', label)}.log",
            env,
        )
        try:
            self._baseline(proc, client, label, poll_s)
        finally:
            self.children.stop(proc)

    def _baseline(self, proc: Any, client: Any, label: str, poll_s: float | None) -> None:
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

        args = self.args
        deadline = time.monotonic() + 120
        while True:
            try:
                deployment = client.read_deployment_by_name(
                    f"{BASELINE_FLOW}/{BASELINE_DEPLOYMENT}"
                )
                break
            except Exception:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("flow.serve() did not register its deployment") from None
                time.sleep(0.2)
        time.sleep(1)  # let serve() enter its polling loop

        def create() -> uuid.UUID:
            return client.create_flow_run_from_deployment(deployment.id, parameters={"n": 0}).id

        def wait(ids: list[uuid.UUID], timeout: float, partial: bool = False) -> list[Any]:
            deadline = time.monotonic() + timeout
            while True:
                runs = client.read_flow_runs(
                    flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)), limit=len(ids)
                )
                final = [r for r in runs if r.state and r.state.is_final()]
                if len(final) == len(ids):
                    return runs
                if time.monotonic() > deadline:
                    message = (
                        f"{len(final)}/{len(ids)} baseline flow runs final after {timeout:.0f}s"
                    )
                    if partial:
                        log(f"timeout: {message}")
                        return runs
                    raise TimeoutError(message)
                time.sleep(0.25)

        wait([create()], 120)  # warm-up: one run through the whole path
        idle = self.idle_cpu("serve (+subprocesses)", lambda: [proc.pid])
        with CpuProbe(self.cpu_groups("serve (+subprocesses)", lambda: [proc.pid])) as cpu:
            t0 = dt.datetime.now(dt.UTC)
            ids = [create() for _ in range(args.baseline_runs)]
            enqueued = dt.datetime.now(dt.UTC)
            runs = wait(ids, args.timeout, partial=True)
        ok = [r for r in runs if r.state is not None and r.state.is_completed()]
        all_final = len(runs) == len(ids) and all(r.state and r.state.is_final() for r in runs)
        last = max((r.end_time for r in runs if r.end_time), default=None)
        window_s = (last - t0).total_seconds() if last and all_final else args.timeout
        done = [r for r in runs if r.end_time and r.start_time and r.created]
        self.results[f"baseline {label}"] = {
            "runs": len(ids),
            "succeeded": len(ok),
            "enqueue_s": round((enqueued - t0).total_seconds(), 2),
            "window_s": round(window_s, 2),
            "runs_per_s": round(len(ok) / window_s, 2),
            "latency_ms": summary([ms(r.created, r.end_time) for r in done]),
            "enqueue_to_started_ms": summary([ms(r.created, r.start_time) for r in done]),
            "started_to_finished_ms": summary([ms(r.start_time, r.end_time) for r in done]),
            "cpu_s": cpu.used,
            "idle_cpu_per_s": idle,
            "poll_s": poll_s or 10,
        }
        log(
            f"(2) baseline {label}: {len(ok)}/{len(runs)} in {window_s:.1f} s = "
            f"{len(ok) / window_s:.2f} runs/s"
        )

    # ---- report

    def report(self, elapsed_s: float) -> str:
        facts, res = self.facts, self.results
        facts["loadavg_end"] = os.getloadavg()
        facts["elapsed_s"] = round(elapsed_s)
        pg = f" (PostgreSQL {facts['postgresql']})" if facts.get("postgresql") else ""
        lines = [
            f"# Engine benchmark — {dt.date.today().isoformat()}",
            "",
            "Command (from the repository root):",
            "",
            "```",
            f".venv/bin/python {shlex.join(['benchmarks/engine.py', *sys.argv[1:]])}",
            "```",
            "",
            "| machine | |",
            "| --- | --- |",
            f"| CPU | {facts['cpu_model']}, {facts['cores']} cores |",
            f"| RAM | {facts['ram_gib']} GiB |",
            f"| Python / Node / Prefect | {facts['python']} / {facts['node']} / "
            f"{facts['prefect']} |",
            f"| @openfn/runtime | {facts['runtime']} |",
            f"| platform DB / Prefect DB | {facts['platform_db']} / {facts['prefect_db']}{pg} |",
            f"| git | {facts['git']} |",
            f"| load average at start / end | {_load(facts['loadavg_start'])} / "
            f"{_load(facts['loadavg_end'])} |",
            f"| wall time of the benchmark | {facts['elapsed_s']} s (Prefect server start "
            f"{facts['prefect_server_start_s']} s) |",
            "",
        ]
        if self.args.py_spy:
            lines += ["Taken under py-spy sampling (--py-spy): expect slightly worse numbers.", ""]
        for key, value in res.items():
            if key.startswith("step_overhead"):
                lines += self._report_overhead(value)
        if any(k.startswith(("ours", "baseline")) for k in res):
            lines += self._report_throughput()
        if res.get("errors"):
            lines += ["## Errors", "", *[f"- {k}: {v}" for k, v in res["errors"].items()], ""]
        if self.args.what_if:
            lines += [
                "## What-if patches",
                "",
                "Rows marked '+ what-if' ran workers with these experimental patches, applied "
                "by this script in its worker processes only (the package is unchanged):",
                "",
                *[f"- `{name}`: {WHAT_IF[name]}" for name in self.args.what_if.split(",")],
                "",
            ]
        return "\n".join(lines)

    def _report_overhead(self, so: dict[str, Any]) -> list[str]:
        args = self.args
        n_long = args.chain_steps + 1
        verdict = "meets" if so["overhead_ms"] <= TARGET_OVERHEAD_MS else "MISSES"
        cpu = so["cpu_per_step_ms"]
        cpu_run = so["cpu_per_1_step_run_ms"]
        title = " (+ what-if patches, see below)" if so.get("what_if") else ""
        return [
            f"## (1) Per-step overhead over bare @openfn/runtime{title}",
            "",
            f"Method: {so['method']}; one worker, concurrency 1, runs one at a time "
            f"({args.pairs} of each, alternating, after {args.warmup} warm-up pairs).",
            "",
            "| measure | median ms | p90 ms | n |",
            "| --- | ---: | ---: | ---: |",
            _row("bare runtime, shared adaptor (baseline)", so["bare_runtime_shared_ms"]),
            _row("bare runtime, fresh adaptor instance per run", so["bare_runtime_fresh_ms"]),
            _row("run of the 1-step workflow (started..finished)", so["run_1_step_ms"]),
            _row(f"run of the {n_long}-step workflow", so[f"run_{n_long}_steps_ms"]),
            f"| **tracked step (difference / {args.chain_steps})** | **{so['per_step_ms']}** | | |",
            f"| **overhead = tracked step - bare runtime** | **{so['overhead_ms']}** | | |",
            "",
            f"Target <= {TARGET_OVERHEAD_MS:g} ms: **{verdict}** "
            f"(against the fresh-instance runtime: {so['overhead_vs_fresh_ms']} ms).",
            "",
            "CPU per tracked step (same difference method, CPU ms): "
            + ", ".join(f"{k} {v}" for k, v in cpu.items() if k != "machine (all)")
            + f"; whole machine {cpu.get('machine (all)')}. CPU of a whole 1-step run: "
            + ", ".join(f"{k} {v}" for k, v in cpu_run.items() if k != "machine (all)")
            + ".",
            "",
            "Where a step's time goes (instrumented worker, every step of the measured runs):",
            "",
            "| part | median ms | p90 ms | n |",
            "| --- | ---: | ---: | ---: |",
            _row("Step row: started_at..finished_at (inside the task)", so["step_row_in_task_ms"]),
            _row("gap between consecutive Step rows", so["gap_between_steps_ms"]),
            *[_row(name, value) for name, value in so["parts_ms"].items()],
            "",
            'Calls made by the worker process ("step: ..." per step, inside the task run; '
            '"run: ..." per run, everything else incl. Prefect\'s background log/event '
            "threads; averaged over all probe runs, 1-step and "
            f"{n_long}-step alternating; websocket traffic not counted):",
            "",
            "| call | per step / per run |",
            "| --- | ---: |",
            *[f"| {k} | {v} |" for k, v in so.get("calls", {}).items()],
            "",
        ]

    def _report_throughput(self) -> list[str]:
        args, res = self.args, self.results
        rows = [(k, v) for k, v in res.items() if k.startswith(("ours", "baseline"))]
        cores = os.cpu_count() or 1
        lines = [
            "## (2) Completed 3-step runs per second",
            "",
            f"Ours: {args.workers} worker processes x concurrency {args.concurrency} "
            f"(Node pool {os.environ.get('LIGHTNING_NODE_POOL_SIZE', 'default = cores')} "
            f"per worker), {args.runs} runs enqueued at once. Baseline: stock `flow.serve()` "
            f"of benchmarks/baseline_flow.py, {args.baseline_runs} flow runs created at once. "
            "Window = first enqueue to last final state; latency = enqueue to final state.",
            "",
            "| system | done/total | runs/s | window s | latency median / p90 ms "
            "| enqueue->started median ms | started->finished median ms |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for name, r in rows:
            lines.append(
                f"| {name} | {r['succeeded']}/{r['runs']} | **{r['runs_per_s']}** | "
                f"{r['window_s']} | {r['latency_ms']['median']:.0f} / "
                f"{r['latency_ms']['p90']:.0f} | {r['enqueue_to_started_ms']['median']:.0f} | "
                f"{r['started_to_finished_ms']['median']:.0f} |"
            )
        groups = list(dict.fromkeys(k for _, r in rows for k in r["cpu_s"]))
        lines += [
            "",
            f"CPU seconds per completed run, by process group (the machine has {cores} cores; "
            "'machine' counts every process, other users' included). 'CPU-bound ceiling' = "
            f"{cores} cores / (CPU per run of everything that serves the run): the runs/s these "
            "processes could reach on an otherwise idle machine if CPU were the only limit.",
            "",
            "| system | " + " | ".join(groups) + " | CPU-bound ceiling runs/s |",
            "| --- | " + " | ".join("---:" for _ in groups) + " | ---: |",
        ]
        for name, r in rows:
            per_run = {k: v / max(r["succeeded"], 1) for k, v in r["cpu_s"].items()}
            own = sum(v for k, v in per_run.items() if k != "machine (all)")
            lines.append(
                f"| {name} | "
                + " | ".join(f"{per_run[g]:.3f}" if g in per_run else "" for g in groups)
                + f" | {cores / own:.1f} |"
                if own
                else f"| {name} | |"
            )
        lines += [
            "",
            f"CPU seconds per second while idle ({self.args.idle_seconds:g} s just before the "
            "window, executor warm and polling, nothing to run):",
            "",
            "| system | " + " | ".join(groups) + " |",
            "| --- | " + " | ".join("---:" for _ in groups) + " |",
        ]
        for name, r in rows:
            idle = r.get("idle_cpu_per_s", {})
            lines.append(f"| {name} | " + " | ".join(str(idle.get(g, "")) for g in groups) + " |")
        lines.append("")
        for label, ours in rows:
            if not label.startswith("ours"):
                continue
            verdict = "meets" if ours["runs_per_s"] >= TARGET_RUNS_PER_S else "MISSES"
            lines.append(
                f"- {label}: target >= {TARGET_RUNS_PER_S:g} runs/s **{verdict}**; Prefect flow "
                f"runs COMPLETED {ours['prefect_flow_runs_completed']}/{ours['runs']}; "
                f"enqueue->claimed median {ours['enqueue_to_claimed_ms']['median']:.0f} ms, "
                f"claimed->started median {ours['claimed_to_started_ms']['median']:.0f} ms."
            )
            for name, r in rows:
                if name.startswith("baseline") and r["runs_per_s"]:
                    speed = ours["runs_per_s"] / r["runs_per_s"]
                    faster = r["latency_ms"]["median"] / ours["latency_ms"]["median"]
                    lines.append(
                        f"- {label} vs {name}: {speed:.1f}x the runs/s, "
                        f"{faster:.1f}x lower median latency."
                    )
        lines.append("")
        return lines


def _load(values: Sequence[float]) -> str:
    return " ".join(f"{v:.2f}" for v in values)


def _row(label: str, s: dict[str, float]) -> str:
    return f"| {label} | {s['median']:.2f} | {s['p90']:.2f} | {s['n']} |"


# ---------------------------------------------------------------- entry point


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=60, help="3-step runs for ours (default 60)")
    p.add_argument("--baseline-runs", type=int, default=20, help="flow runs for flow.serve()")
    p.add_argument(
        "--database",
        choices=["auto", "postgresql", "sqlite"],
        default="auto",
        help="platform database (auto: PostgreSQL when reachable)",
    )
    p.add_argument(
        "--prefect-database",
        choices=["postgresql", "sqlite"],
        default="postgresql",
        help="Prefect server database when --database is postgresql",
    )
    p.add_argument("--pg-url", default=os.environ.get("LF_BENCH_PG_URL", DEFAULT_PG))
    p.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--concurrency", type=int, default=4, help="runs at once per worker")
    p.add_argument("--node-pool-size", type=int, default=0, help="Node processes per worker")
    p.add_argument("--bare-runs", type=int, default=300)
    p.add_argument("--pairs", type=int, default=20, help="(1) measured runs of each workflow")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--chain-steps", type=int, default=10, help="(1) extra steps of the long one")
    p.add_argument(
        "--fast-poll",
        type=float,
        default=0,
        help="also run the baseline with this serve() poll interval (s)",
    )
    p.add_argument("--skip", action="append", default=[], choices=["overhead", "ours", "baseline"])
    p.add_argument("--timeout", type=float, default=300)
    p.add_argument("--idle-seconds", type=float, default=5, help="idle CPU sample length")
    p.add_argument("--py-spy", default="", help="py-spy binary: profile the worker processes")
    p.add_argument(
        "--what-if",
        default="",
        help="also run ours with experimental engine patches, comma-separated from: "
        + ", ".join(WHAT_IF)
        + " (or 'all')",
    )
    p.add_argument(
        "--sustained",
        action="store_true",
        help="instead: offer --rate runs/s for --minutes (benchmarks/sustained.py)",
    )
    p.add_argument("--rate", type=float, default=15.0, help="--sustained: runs offered per s")
    p.add_argument("--minutes", type=float, default=5.0, help="--sustained: how long")
    p.add_argument("--keep-work", action="store_true", help="keep benchmarks/.work/<run>")
    p.add_argument("--no-save", action="store_true", help="print only; write no results file")
    # internal: a worker subprocess
    p.add_argument("--role", default="main", help=argparse.SUPPRESS)
    p.add_argument("--name", default="worker", help=argparse.SUPPRESS)
    p.add_argument("--ready", default="", help=argparse.SUPPRESS)
    p.add_argument("--instrument", default="", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def _sustained(args: argparse.Namespace) -> int:
    """`--sustained`: a fixed offered rate for minutes (benchmarks/sustained.py)."""
    from sustained import run_sustained, sustained_report  # type: ignore[import-not-found]

    bench = Bench(args)
    try:
        bench.setup()
        result = run_sustained(bench)
        bench.facts["loadavg_end"] = os.getloadavg()
        text = sustained_report(bench.facts, result, shlex.join(sys.argv))
        print("\n" + text)
        if not args.no_save:
            RESULTS_DIR.mkdir(exist_ok=True)
            stem = RESULTS_DIR / f"engine-sustained-{dt.date.today().isoformat()}"
            stem.with_suffix(".md").write_text(text)
            payload = {"command": sys.argv, "machine": bench.facts, "result": result}
            stem.with_suffix(".json").write_text(json.dumps(payload, indent=2, default=str) + "\n")
            log(f"wrote {stem.relative_to(ROOT)}.md and .json")
    except KeyboardInterrupt:
        log("interrupted: cleaning up")
        return 130
    finally:
        bench.cleanup()
    return 0


def _raise_interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.what_if == "all":
        args.what_if = ",".join(WHAT_IF)
    unknown = set(filter(None, args.what_if.split(","))) - set(WHAT_IF)
    if unknown:
        raise SystemExit(f"unknown --what-if patches: {', '.join(sorted(unknown))}")
    if args.role == "worker":
        worker_main(args)
        return 0
    sys.path.insert(0, str(ROOT))
    signal.signal(signal.SIGTERM, _raise_interrupt)
    if args.sustained:
        return _sustained(args)
    bench = Bench(args)
    started = time.monotonic()
    parts: list[tuple[str, Callable[[], None]]] = []
    if "overhead" not in args.skip:
        parts.append(("(1) overhead", bench.step_overhead))
    if "ours" not in args.skip:
        parts.append(("(2) ours", bench.throughput_ours))
    if args.what_if and "overhead" not in args.skip:
        parts.append(("(1) overhead + what-if", lambda: bench.step_overhead(args.what_if)))
    if args.what_if and "ours" not in args.skip:
        parts.append(("(2) ours + what-if", lambda: bench.throughput_ours(args.what_if)))
    if "baseline" not in args.skip:
        parts.append(("(2) baseline", lambda: bench.throughput_baseline("serve() defaults", None)))
        if args.fast_poll:
            label = f"serve() poll {args.fast_poll:g} s"
            parts.append(
                ("(2) baseline fast poll", lambda: bench.throughput_baseline(label, args.fast_poll))
            )
    try:
        bench.setup()
        for name, part in parts:
            try:
                part()
            except Exception as exc:  # one failed part must not lose the others
                log(f"{name} failed: {type(exc).__name__}: {exc}")
                bench.results.setdefault("errors", {})[name] = f"{type(exc).__name__}: {exc}"
        text = bench.report(time.monotonic() - started)
        print("\n" + text)
        if not args.no_save:
            RESULTS_DIR.mkdir(exist_ok=True)
            stem = RESULTS_DIR / f"engine-{dt.date.today().isoformat()}"
            stem.with_suffix(".md").write_text(text)
            payload = {"command": sys.argv, "machine": bench.facts, "results": bench.results}
            stem.with_suffix(".json").write_text(json.dumps(payload, indent=2, default=str) + "\n")
            log(f"wrote {stem.relative_to(ROOT)}.md and .json")
    except KeyboardInterrupt:
        log("interrupted: cleaning up")
        return 130
    finally:
        bench.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
