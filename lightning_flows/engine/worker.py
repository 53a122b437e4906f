"""`lightning-flows worker`: executes runs in-process, picking new ones up within ~50 ms.

Prefect's stock `serve()` polls every 10 s and spawns a subprocess per run;
this worker polls the platform database for `available` runs every
`poll_interval` while busy (idle on PostgreSQL, it sleeps until the `runs` table
notifies it: engine/wakeup.py), claims a batch, hands them to Prefect (one Running flow run of
each workflow's deployment, idempotent) and executes each in a thread
(engine/prefect/flow_runs.py). Every `prefect_poll_interval` it also asks its Prefect work
pool for scheduled flow runs: retries from the Prefect UI (resumed from the failed
step), and flow runs started from a deployment or schedule.

It is a worker of that work pool: a heartbeat thread tells Prefect (for its UI) and
the platform database (for liveness) that it is alive; every worker takes over the
runs of workers that went silent (engine/recovery.py), keeps the maintenance deployments
in Prefect and sends the failure alerts waiting in the outbox (notifications/dispatch.py),
each on a thread of its own. `stop(grace)` drains: no new
claims, runs hand themselves back between steps, and after `grace` seconds the runs
still inside a step are handed back too (resumed elsewhere at that step).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor

from prefect.client.schemas.objects import FlowRun
from sqlmodel import col, select

from lightning_flows.core.config import get_settings
from lightning_flows.core.db import session_scope
from lightning_flows.core.node_runtime import get_pool
from lightning_flows.engine.lease import RunLease
from lightning_flows.engine.prefect import work_pool as prefect_worker
from lightning_flows.engine.prefect.dispatch import FlowRunRef, create_flow_runs
from lightning_flows.engine.prefect.flow_runs import drive_flow_run
from lightning_flows.engine.prefect.mirror import mirror_in_prefect
from lightning_flows.engine.recovery import sweep_lost_runs
from lightning_flows.engine.wakeup import RunSignal
from lightning_flows.maintenance import deployment as maintenance
from lightning_flows.notifications import dispatch as alerts
from lightning_flows.runs import bulk_queue, takeover, workers
from lightning_flows.runs.models import Run
from lightning_flows.runs.queue import claim_runs, release_claims
from lightning_flows.runs.states import ACTIVE_RUN_STATES, RESUMABLE_RUN_STATES, RunState

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
        settings = get_settings()
        self.sweep_interval = sweep_interval or settings.lost_run_sweep_seconds
        self.heartbeat_interval = settings.worker_heartbeat_seconds
        self.grace = settings.shutdown_grace_seconds
        self.stopping = threading.Event()
        self._draining = threading.Event()  # shared by every lease: hand back between steps
        self._leases: dict[uuid.UUID, RunLease] = {}
        self._dispatch_paused_until = 0.0
        self._signal = RunSignal()
        self._heartbeat_stop = threading.Event()
        self._stop_requested_at: float | None = None

    def serve(self) -> None:
        """Poll and execute until `stop()` is called; then drain (see `stop`)."""
        log.info("worker %s started (concurrency %d)", self.name, self.concurrency)
        self._beat(prefect=False)  # alive in the database before the first claim
        with session_scope() as session:  # a restarted host's old workers are dead now
            gone = workers.declare_dead_neighbours(session, socket.gethostname(), self.name)
        if gone:
            log.warning("workers %s of this host are gone; their runs resume now", gone)
        heart = threading.Thread(target=self._heartbeats, name="worker-heartbeat", daemon=True)
        heart.start()
        # Apart: Prefect's client retries for half a minute while Prefect is down, and the
        # database heartbeat must not wait that long (the worker would be declared dead).
        threading.Thread(
            target=self._prefect_heartbeats, name="worker-prefect-heartbeat", daemon=True
        ).start()
        # Start the Node processes now, not on the first run (1.5-2.5 s each).
        threading.Thread(target=get_pool().warm_up, name="node-warm-up", daemon=True).start()
        threading.Thread(
            target=maintenance.keep_deployed, args=(self.stopping,), name="maintenance", daemon=True
        ).start()
        # Failure alerts leave the outbox on a thread of their own, off the runs' path.
        threading.Thread(
            target=alerts.serve, args=(self.stopping,), name="failure-alerts", daemon=True
        ).start()
        try:
            self._loop()
        finally:
            self._drain()
            self._heartbeat_stop.set()
            heart.join(timeout=5)
            self._leave()

    def _loop(self) -> None:
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

    def stop(self, grace: float | None = None) -> None:
        """Stop claiming now; runs in progress hand themselves back before their next
        step, and after `grace` seconds (default `shutdown_grace_seconds`) the runs still
        inside a step are handed back too. `serve()` returns once all that is done."""
        if grace is not None:
            self.grace = grace
        self._stop_requested_at = time.monotonic()  # the grace runs from the signal
        self._draining.set()
        self.stopping.set()
        self._signal.stop()

    def _drain(self) -> None:
        deadline = (self._stop_requested_at or time.monotonic()) + self.grace
        while self.busy and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.busy:
            self._hand_back_in_flight()
        self._threads.shutdown(wait=True)

    def _hand_back_in_flight(self) -> None:
        """The grace period is over: hand back what is still running, interrupt it."""
        with session_scope() as session:
            held = list(
                session.exec(
                    select(Run.id).where(
                        col(Run.worker_name) == self.name,
                        col(Run.state).in_([s.value for s in ACTIVE_RUN_STATES]),
                    )
                )
            )
            handed = takeover.hand_back(
                session,
                held,
                reason=f"The worker executing this run ({self.name}) stopped before "
                "the step finished.",
                held_by=self.name,
            )
        with self._lock:
            for lease in self._leases.values():
                lease.revoked.set()
        log.warning("handed back %d run(s) still in a step", len(held))
        # The steps still in Node cannot finish in time: end their processes now (the pool
        # starts new ones on demand, should anything still ask), then tell Prefect.
        from lightning_flows.core.node_runtime import shutdown_pool

        shutdown_pool()
        mirror_in_prefect(handed)

    def _heartbeats(self) -> None:
        while not self._heartbeat_stop.wait(self.heartbeat_interval):
            self._beat(prefect=False)

    def _prefect_heartbeats(self) -> None:
        self._beat_prefect()
        while not self._heartbeat_stop.wait(self.heartbeat_interval):
            self._beat_prefect()

    def _beat(self, prefect: bool = True) -> None:
        try:
            with session_scope() as session:
                workers.beat(
                    session,
                    self.name,
                    hostname=socket.gethostname(),
                    pid=os.getpid(),
                    concurrency=self.concurrency,
                )
        except Exception:
            log.warning("could not record the heartbeat of worker %s", self.name, exc_info=True)
        if prefect:
            self._beat_prefect()

    def _beat_prefect(self) -> None:
        try:
            prefect_worker.send_heartbeat(self.name, self.heartbeat_interval)
        except Exception:  # Prefect down: the platform database still knows we are alive
            log.debug("could not send a heartbeat to Prefect", exc_info=True)

    def _leave(self) -> None:
        try:
            with session_scope() as session:
                workers.forget(session, self.name)
        except Exception:
            log.warning("could not remove worker %s", self.name, exc_info=True)
        prefect_worker.remove_worker(self.name)

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
            bulk_queue.resume_in_background()  # bulk retries whose process stopped
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
                release_claims(session, failed, self.name)
        for run_id, flow_run in flow_runs.items():
            self._submit(run_id, run_id, flow_run)
        return len(flow_runs)

    def _start_scheduled_flow_runs(self) -> int:
        free = self._free()
        if free <= 0:
            return 0
        flow_runs = prefect_worker.due_flow_runs(free)
        started = 0
        for flow_run in flow_runs:
            if maintenance.start_if_maintenance(flow_run):
                continue
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
        lease = RunLease(draining=self._draining, worker_label=self.name)
        with self._lock:
            self._active = {k: f for k, f in self._active.items() if not f.done()}
            self._leases = {k: v for k, v in self._leases.items() if k in self._active}
            self._leases[key] = lease
            self._active[key] = self._threads.submit(
                drive_flow_run, run_id, flow_run, self.name, lease
            )
