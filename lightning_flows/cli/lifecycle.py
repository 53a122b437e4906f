"""Stopping `up` and `worker` cleanly on SIGTERM/SIGINT.

Order: stop claiming, let in-flight runs finish within the grace period
(`LIGHTNING_SHUTDOWN_GRACE_SECONDS`), hand the rest back, close the Node pool,
then stop the embedded Prefect server. No child process outlives the command, and
all is gone within the grace period + 5 s: 1 s for the worker to hand runs back, 1 s
to end steps still running, 3 s to flush Prefect clients and stop the Prefect server
(a worker late to hand its runs back may take up to 3 s more: no run is cut mid-step
before it is handed back).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from types import FrameType
from typing import Any, Protocol

from lightning_flows.core.config import get_settings

log = logging.getLogger(__name__)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """Raised in the main thread by a stop signal received while starting up."""


class StopSignals:
    """Records SIGINT/SIGTERM instead of dying on them.

    While `interrupting` is true (start-up: migrations, the Prefect server), a signal
    raises `Interrupted` in the main thread so the caller's `finally:` cleans up. Once
    serving, a signal only sets `event` (and calls `on_signal`, e.g. to tell uvicorn).
    uvicorn restores these handlers when it returns and re-raises the signal it caught:
    that lands here too and is only recorded, so the process lives on to stop in order.
    """

    def __init__(self) -> None:
        self.event = threading.Event()
        self.received: int | None = None
        self.interrupting = True
        self.on_signal: list[Any] = []

    def install(self) -> StopSignals:
        for sig in STOP_SIGNALS:
            signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        first = not self.event.is_set()
        self.received = self.received or signum
        self.event.set()
        for callback in self.on_signal:
            callback()
        if first and self.interrupting:
            raise Interrupted(signal.Signals(signum).name)

    @property
    def name(self) -> str:
        return signal.Signals(self.received).name if self.received else "stop"


class Stoppable(Protocol):
    def stop(self, *args: Any) -> Any: ...


def shutdown_grace() -> float:
    """Seconds in-flight runs get to finish on stop (`LIGHTNING_SHUTDOWN_GRACE_SECONDS`)."""
    return float(getattr(get_settings(), "shutdown_grace_seconds", 30.0))


class WorkerStop:
    """Stopping a worker that serves in `thread`: `begin()` at once (from a signal handler
    too: it only starts a thread), `finish()` when the process is ready to wait for it."""

    def __init__(self, runner: Stoppable, thread: threading.Thread | None, grace: float) -> None:
        self.runner, self.thread, self.grace = runner, thread, grace
        self.began_at: float | None = None

    def begin(self) -> None:
        """Stop claiming now; in-flight runs get `grace` seconds from this moment."""
        if self.began_at is None:
            self.began_at = time.monotonic()
            threading.Thread(target=self._stop, name="worker-stop", daemon=True).start()

    def _stop(self) -> None:
        try:
            self.runner.stop(self.grace)
        except TypeError:  # a Worker whose stop() takes no grace period
            self.runner.stop()

    def finish(self) -> bool:
        """Wait for the worker thread during the grace period. If it still runs steps
        then, wait until it has handed their runs back (4 s more at most: a step ended
        before that would crash its run), end those steps by killing their Node processes
        and wait for the thread until then (1 s at least). False if it still runs after all
        that."""
        self.begin()
        if self.thread is None:
            return True
        began = self.began_at or time.monotonic()
        self.thread.join(timeout=max(0.0, began + self.grace - time.monotonic()))
        # The grace period is over: the worker hands back the runs still in a step.
        last_resort = began + self.grace + 4
        while self.thread.is_alive() and time.monotonic() < last_resort and self._holds_runs():
            self.thread.join(timeout=0.2)
        if self.thread.is_alive():
            log.warning("the worker is still busy after the grace period: ending its steps")
            close_node_pool()  # steps end now, their threads unwind
            # What is left is bookkeeping (Prefect states, the worker's own row): let it end.
            self.thread.join(timeout=max(1.0, last_resort - time.monotonic()))
        return not self.thread.is_alive()

    def _holds_runs(self) -> bool:
        """Whether runs are still claimed or started by this worker (not handed back)."""
        name = getattr(self.runner, "name", None)
        if not isinstance(name, str):
            return False
        try:
            from sqlmodel import col, func, select

            from lightning_flows.core.db import session_scope
            from lightning_flows.runs.models import Run
            from lightning_flows.runs.states import ACTIVE_RUN_STATES

            with session_scope() as session:
                held = session.exec(
                    select(func.count())
                    .select_from(Run)
                    .where(
                        col(Run.worker_name) == name,
                        col(Run.state).in_([s.value for s in ACTIVE_RUN_STATES]),
                    )
                ).one()
        except Exception:
            log.warning("could not read the runs this worker holds", exc_info=True)
            return False
        return bool(held)


def stop_worker(runner: Stoppable, thread: threading.Thread | None, grace: float) -> bool:
    """Stop claiming, give in-flight runs `grace` seconds, then hand the rest back.

    See `WorkerStop.finish()`; returns False if the worker thread still runs.
    """
    return WorkerStop(runner, thread, grace).finish()


def close_node_pool() -> None:
    """Stop every Node process now (after the drain, none should be busy)."""
    from lightning_flows.core.node_runtime import shutdown_pool

    try:
        shutdown_pool()
    except Exception:
        log.warning("could not stop the Node pool", exc_info=True)


def flush_prefect_clients(timeout: float = 0.5) -> None:
    """Send the task-run events and log lines still queued, before Prefect's server stops."""
    if "prefect.events.worker" not in sys.modules:
        return  # nothing was ever sent
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for service in (EventsWorker, APILogWorker):
        try:
            service.drain_all(timeout=timeout)
        except Exception:
            log.warning("could not flush %s", service.__name__, exc_info=True)


def exit_now_if_threads_linger(code: int = 0) -> None:
    """Exit at once if threads other than daemons are still running.

    A run thread still unwinding (its step was ended, Prefect is already stopped) would
    hold the interpreter's exit, which joins such threads. Everything that matters was
    stopped and flushed before this is called.
    """
    lingering = [
        t.name for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon
    ]
    if not lingering and code == 0:
        return
    if lingering:
        log.warning("exiting without waiting for threads %s", ", ".join(lingering))
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
