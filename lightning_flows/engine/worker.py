"""`lightning-flows worker`: executes runs in-process, picking new ones up within ~50 ms.

Prefect's stock `serve()` polls every 10 s and spawns a subprocess per run;
this worker polls the platform database for `available` runs every
`poll_interval` while busy (idle on PostgreSQL, it sleeps until the `runs` table
notifies it: engine/wakeup.py), claims a batch, hands them to Prefect (one Running flow run of
each workflow's deployment, idempotent) and executes each in a thread
(engine/flow_runs.py). Every `prefect_poll_interval` it also asks Prefect for
scheduled flow runs of the engine flow: retries from the Prefect UI (resumed
from the failed step), and flow runs started from a deployment or schedule.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor

from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterNextScheduledStartTime,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import FlowRun, StateType

from lightning_flows.core.config import get_settings
from lightning_flows.core.db import session_scope
from lightning_flows.core.timeutil import utcnow
from lightning_flows.engine.dispatch import FlowRunRef, create_flow_runs
from lightning_flows.engine.flow import FLOW_NAME
from lightning_flows.engine.flow_runs import drive_flow_run
from lightning_flows.engine.prefect_api import prefect_client
from lightning_flows.engine.recovery import sweep_lost_runs
from lightning_flows.engine.runtime import get_pool
from lightning_flows.engine.wakeup import RunSignal
from lightning_flows.runs.models import Run
from lightning_flows.runs.queue import claim_runs, release_claims
from lightning_flows.runs.states import RESUMABLE_RUN_STATES, RunState

log = logging.getLogger(__name__)
IDLE_POLL_SECONDS = 0.25  # with LISTEN/NOTIFY, an idle worker still polls this often


class Worker:
    """Executes up to `concurrency` runs at once in this process."""

    def __init__(
        self,
        concurrency: int = 4,
        *,
        name: str | None = None,
        poll_interval: float = 0.05,
        prefect_poll_interval: float = 2.0,
        sweep_interval: float | None = None,
    ) -> None:
        self.concurrency = concurrency
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.poll_interval = poll_interval
        self.prefect_poll_interval = prefect_poll_interval
        self._threads = ThreadPoolExecutor(concurrency, thread_name_prefix="lightning-run")
        self._active: dict[uuid.UUID, Future[None]] = {}
        self._lock = threading.Lock()
        self._last_prefect_poll = 0.0
        self._last_sweep = 0.0
        self.sweep_interval = sweep_interval or get_settings().lost_run_sweep_seconds
        self.stopping = threading.Event()
        self._dispatch_paused_until = 0.0
        self._signal = RunSignal()

    def serve(self) -> None:
        """Poll and execute until `stop()` is called."""
        log.info("worker %s started (concurrency %d)", self.name, self.concurrency)
        # Start the Node processes now, not on the first run (1.5-2.5 s each).
        threading.Thread(target=get_pool().warm_up, name="node-warm-up", daemon=True).start()
        while not self.stopping.is_set():
            try:
                started = self.poll_once()
            except Exception:
                log.exception("worker poll failed; retrying")
                started = 0
            if started:
                continue
            if self.busy or not self._signal.listening:
                self.stopping.wait(self.poll_interval)
            else:  # idle: sleep until runs are created (or the fallback poll)
                self._signal.wait(IDLE_POLL_SECONDS)
        self._signal.close()
        self._threads.shutdown(wait=True)

    def stop(self) -> None:
        self.stopping.set()
        self._signal.stop()

    def poll_once(self) -> int:
        """Start what is waiting (database first, then Prefect); returns how many started."""
        started = self._start_available_runs()
        now = time.monotonic()
        if now - self._last_prefect_poll >= self.prefect_poll_interval:
            self._last_prefect_poll = now
            try:
                started += self._start_scheduled_flow_runs()
            except Exception:  # Prefect down: runs from the database still wait safely
                log.warning("could not read scheduled flow runs from Prefect", exc_info=True)
        if now - self._last_sweep >= self.sweep_interval:
            self._last_sweep = now
            sweep_lost_runs()
        return started

    def wait_idle(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.busy and time.monotonic() < deadline:
            time.sleep(0.02)

    @property
    def busy(self) -> int:
        with self._lock:
            return sum(1 for f in self._active.values() if not f.done())

    def _free(self) -> int:
        return self.concurrency - self.busy

    def _start_available_runs(self) -> int:
        free = self._free()
        if free <= 0 or time.monotonic() < self._dispatch_paused_until:
            return 0
        with session_scope() as session:
            claimed = claim_runs(session, free, self.name)
        if not claimed:
            return 0
        flow_runs, failed = create_flow_runs(claimed)
        if failed:
            # Prefect unreachable: give those runs back and try again in a moment.
            log.warning("could not hand %d run(s) to Prefect; retrying", len(failed))
            self._dispatch_paused_until = time.monotonic() + 2.0
            with session_scope() as session:
                release_claims(session, failed)
        for run_id, flow_run in flow_runs.items():
            self._submit(run_id, run_id, flow_run)
        return len(flow_runs)

    def _start_scheduled_flow_runs(self) -> int:
        free = self._free()
        if free <= 0:
            return 0
        flow_runs = prefect_client().read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[FLOW_NAME])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED])),
                next_scheduled_start_time=FlowRunFilterNextScheduledStartTime(before_=utcnow()),
            ),
            limit=free,
        )
        started = 0
        for flow_run in flow_runs:
            ours, run_id = self._run_of(flow_run)
            if not ours:
                continue
            ref = FlowRunRef(
                flow_run.id,
                flow_run.name,
                list(flow_run.tags),
                dict(flow_run.parameters or {}),
                start="take",
            )
            self._submit(run_id or flow_run.id, run_id, ref)
            started += 1
        return started

    def _run_of(self, flow_run: FlowRun) -> tuple[bool, uuid.UUID | None]:
        """(should this worker execute it now, the run it executes: None = it creates one).

        Flow runs of `available` runs are left to the database path; a flow run
        of a finished run is a retry from the Prefect UI and resumes that run.
        """
        raw = (flow_run.parameters or {}).get("run_id")
        if raw is None:
            return flow_run.id not in self._active, None
        run_id = uuid.UUID(str(raw))
        if run_id in self._active and not self._active[run_id].done():
            return False, run_id
        with session_scope() as session:
            run = session.get(Run, run_id)
            resumable = run is not None and RunState(run.state) in RESUMABLE_RUN_STATES
        return resumable, run_id

    def _submit(self, key: uuid.UUID, run_id: uuid.UUID | None, flow_run: FlowRunRef) -> None:
        with self._lock:
            self._active = {k: f for k, f in self._active.items() if not f.done()}
            self._active[key] = self._threads.submit(drive_flow_run, run_id, flow_run, self.name)
