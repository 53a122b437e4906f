"""Publishing workflows' Prefect deployments after commit, in the background.

A save only commits and publishes `WorkflowChanged`; this module's subscriber
puts the workflow id on a queue and returns. One daemon thread per process
takes ids off the queue and publishes each (`deployments.publish_deployment`:
read in a short session, call Prefect, store the id in another). A failure is
retried with backoff (0.5 s doubling to 30 s) until it succeeds. Ids are
coalesced: ten saves in a row publish once or twice, and a save made while its
workflow is being published is published again afterwards, so the last save
always reaches Prefect.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable

from sqlmodel import col, or_, select

from lightning_flows.core.db import session_scope
from lightning_flows.workflows import events
from lightning_flows.workflows.models import Workflow

log = logging.getLogger(__name__)

FIRST_BACKOFF = 0.5
MAX_BACKOFF = 30.0


class DeploymentPublisher:
    """A queue of workflow ids and the one thread that publishes them."""

    def __init__(
        self,
        publish: Callable[[uuid.UUID], object] | None = None,
        *,
        first_backoff: float = FIRST_BACKOFF,
        max_backoff: float = MAX_BACKOFF,
    ) -> None:
        if publish is None:
            from lightning_flows.engine.prefect.deployments import publish_deployment

            publish = publish_deployment
        self._publish = publish
        self._first_backoff, self._max_backoff = first_backoff, max_backoff
        self._cond = threading.Condition()
        self._due: dict[uuid.UUID, float] = {}  # workflow id -> when (monotonic)
        self._failures: dict[uuid.UUID, int] = {}
        self._busy: uuid.UUID | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False

    def submit(self, workflow_id: uuid.UUID) -> None:
        """Publish this workflow's deployment soon (never blocks on Prefect)."""
        self.submit_many([workflow_id])

    def submit_many(self, workflow_ids: Iterable[uuid.UUID]) -> None:
        now = time.monotonic()
        with self._cond:
            for workflow_id in workflow_ids:
                # A workflow waiting out a backoff keeps its time: Prefect is still down.
                self._due.setdefault(workflow_id, now)
            self._ensure_thread()
            self._cond.notify_all()

    def pending(self) -> int:
        with self._cond:
            return len(self._due) + (self._busy is not None)

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything submitted is published; False if `timeout` passed first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._due or self._busy is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.5))
        return True

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread (what is still queued is published by the next start's sweep)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stopping = False
            self._thread = threading.Thread(
                target=self._run, name="deployment-publisher", daemon=True
            )
            self._thread.start()

    def _next(self) -> uuid.UUID | None:
        """The next workflow whose time has come (waits for it); None when stopping."""
        with self._cond:
            while not self._stopping:
                if self._due:
                    workflow_id, when = min(self._due.items(), key=lambda item: item[1])
                    wait = when - time.monotonic()
                    if wait <= 0:
                        del self._due[workflow_id]
                        self._busy = workflow_id
                        return workflow_id
                    self._cond.wait(wait)
                else:
                    self._cond.wait()
            return None

    def _run(self) -> None:
        while (workflow_id := self._next()) is not None:
            try:
                self._publish(workflow_id)
            except Exception as exc:
                self._failed(workflow_id, exc)
            else:
                with self._cond:
                    self._failures.pop(workflow_id, None)
            finally:
                with self._cond:
                    self._busy = None
                    self._cond.notify_all()

    def _failed(self, workflow_id: uuid.UUID, exc: Exception) -> None:
        with self._cond:
            failures = self._failures[workflow_id] = self._failures.get(workflow_id, 0) + 1
            delay = min(self._max_backoff, self._first_backoff * 2 ** (failures - 1))
            retry_at = time.monotonic() + delay
            self._due[workflow_id] = max(self._due.get(workflow_id, retry_at), retry_at)
        log.warning(
            "could not publish the Prefect deployment of workflow %s (attempt %d): %s; "
            "retrying in %.1f s",
            workflow_id,
            failures,
            exc,
            delay,
            exc_info=failures == 1,
        )


_publisher: DeploymentPublisher | None = None
_publisher_lock = threading.Lock()


def get_publisher() -> DeploymentPublisher:
    """This process's publisher (created on first use)."""
    global _publisher
    with _publisher_lock:
        if _publisher is None:
            _publisher = DeploymentPublisher()
        return _publisher


def on_workflow_changed(event: events.WorkflowChanged) -> None:
    """`WorkflowChanged` subscriber: queue the workflow's deployment for publishing."""
    get_publisher().submit(event.workflow_id)


def publish_all() -> int:
    """Queue every workflow that has or needs a deployment (after start-up: Prefect may
    have lost its database while the platform was down). Returns how many."""
    with session_scope() as session:
        ids = list(
            session.exec(
                select(Workflow.id).where(
                    or_(
                        col(Workflow.deleted_at).is_(None),
                        col(Workflow.prefect_deployment_id).is_not(None),
                    )
                )
            ).all()
        )
    get_publisher().submit_many(ids)
    return len(ids)


def enable(*, reconcile: bool = False) -> None:
    """Subscribe to workflow changes; with `reconcile`, publish every workflow once now."""
    events.subscribe(on_workflow_changed)
    if reconcile:
        try:
            publish_all()
        except Exception:
            log.warning("could not list workflows to publish their deployments", exc_info=True)


def disable() -> None:
    events.unsubscribe(on_workflow_changed)
