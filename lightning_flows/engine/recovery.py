"""Nothing acknowledged is dropped: the runs of dead workers are taken over.

Every worker looks, every `lost_run_sweep_seconds`: runs held by a worker whose
heartbeat is older than `worker_dead_after_seconds` are handed back (they resume on a
live worker at the step that was in flight) or end `lost` (`on_worker_loss =
mark_lost`); runs unfinished after the max run duration plus grace end `lost` (the
backstop for a step hanging on a live worker). The decisions are the runs context's
(runs/takeover.py); engine/prefect/mirror.py mirrors them in Prefect.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from lightning_flows.core.config import get_settings
from lightning_flows.core.db import session_scope
from lightning_flows.core.timeutil import utcnow
from lightning_flows.engine.prefect.mirror import mirror_in_prefect
from lightning_flows.runs import takeover

log = logging.getLogger(__name__)


def sweep_lost_runs() -> list[uuid.UUID]:
    """Take over dead workers' runs and end overdue ones; returns the ids that changed."""
    settings = get_settings()
    with session_scope() as session:
        handed = takeover.take_over_dead_workers(session, settings.worker_dead_after_seconds)
    cutoff = utcnow() - timedelta(
        seconds=settings.max_run_duration_seconds + settings.lost_run_grace_seconds
    )
    with session_scope() as session:
        handed.extend(takeover.sweep_overdue_runs(session, cutoff))
    for run_id in handed.resumed:
        log.warning("run %s lost its worker; it resumes on a live worker", run_id)
    for run_id, _ in handed.lost:
        log.warning("run %s was lost", run_id)
    mirror_in_prefect(handed)
    return handed.resumed + [run_id for run_id, _ in handed.lost]
