"""A worker's hold on a run it executes, and how it lets go when stopping.

A stopping worker sets `draining`: each of its runs hands itself back before its
next step (nothing is interrupted; the run resumes elsewhere at that step). After the
grace period the worker hands back the runs still inside a step and sets `revoked`
on them, so their threads stop at once instead of walking on.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field

from lightning_flows.core.db import session_scope
from lightning_flows.engine.recording import RunHandedBack
from lightning_flows.runs import takeover


@dataclass
class RunLease:
    """Signals from the worker to the thread executing one run."""

    draining: threading.Event = field(default_factory=threading.Event)
    revoked: threading.Event = field(default_factory=threading.Event)
    worker_label: str = "this worker"

    def before_step(self, run_id: uuid.UUID, holder: str | None) -> None:
        """Raise RunHandedBack, after handing the run back, if the worker is stopping."""
        if self.revoked.is_set():
            raise RunHandedBack(f"run {run_id} was handed back")
        if not self.draining.is_set():
            return
        with session_scope() as session:
            takeover.hand_back(
                session,
                [run_id],
                reason=f"The worker executing this run ({self.worker_label}) is stopping.",
                held_by=holder,
            )
        self.revoked.set()
        raise RunHandedBack(f"run {run_id} handed back: the worker is stopping")
