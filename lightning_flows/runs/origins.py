"""What started a run: `webhook`, `cron`, `manual`, `retry` or `bulk` (a bulk retry).

Derived from what every run already records, so no write path changes: a run queued by
a bulk retry is a batch item's run; any later run of a work order is a retry (from the
run page, the API, a lost-run retry); the first run was started by a person when it
names its creator or its input was given by hand (`saved_input`), by a schedule when it
starts at a cron trigger, and by a request when its input is an HTTP request. A flow
run started from Prefect's UI ("Run") counts as manual.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from sqlmodel import Session, col, select

from lightning_flows.runs.batch_models import RetryBatchItem
from lightning_flows.runs.models import Dataclip, DataclipType, Run, WorkOrder
from lightning_flows.workflows.models import Trigger


class Origin(StrEnum):
    WEBHOOK = "webhook"
    CRON = "cron"
    MANUAL = "manual"
    RETRY = "retry"
    BULK = "bulk"


@dataclass(frozen=True)
class RunFacts:
    """What decides a run's origin."""

    run_id: uuid.UUID
    work_order_id: uuid.UUID
    first: bool  # the work order's first run
    created_by_id: uuid.UUID | None
    starting_trigger_id: uuid.UUID | None


def origin_of(
    facts: RunFacts, *, in_batch: bool, trigger_type: str | None, input_type: str | None
) -> Origin:
    if in_batch:
        return Origin.BULK
    if not facts.first:
        return Origin.RETRY
    if facts.created_by_id is not None or input_type == DataclipType.SAVED_INPUT.value:
        return Origin.MANUAL
    if trigger_type == "cron":
        return Origin.CRON
    if input_type == DataclipType.HTTP_REQUEST.value:
        return Origin.WEBHOOK
    return Origin.MANUAL


def origins(session: Session, runs: Iterable[RunFacts]) -> dict[uuid.UUID, Origin]:
    """The origin of each run (three queries, whatever the count)."""
    runs = list(runs)
    if not runs:
        return {}
    run_ids = [r.run_id for r in runs]
    batched = set(
        session.exec(
            select(RetryBatchItem.run_id).where(col(RetryBatchItem.run_id).in_(run_ids))
        ).all()
    )
    trigger_ids = {r.starting_trigger_id for r in runs if r.starting_trigger_id}
    trigger_types = (
        dict(
            session.exec(
                select(Trigger.id, Trigger.type).where(col(Trigger.id).in_(trigger_ids))
            ).all()
        )
        if trigger_ids
        else {}
    )
    input_types = dict(
        session.exec(
            select(WorkOrder.id, Dataclip.type)
            .join(Dataclip, col(Dataclip.id) == col(WorkOrder.dataclip_id))
            .where(col(WorkOrder.id).in_({r.work_order_id for r in runs}))
        ).all()
    )
    return {
        r.run_id: origin_of(
            r,
            in_batch=r.run_id in batched,
            trigger_type=trigger_types.get(r.starting_trigger_id),  # type: ignore[arg-type]
            input_type=input_types.get(r.work_order_id),
        )
        for r in runs
    }


def facts_of(runs_newest_first: list[Run]) -> list[RunFacts]:
    """RunFacts for every run of one work order, given newest first."""
    last = len(runs_newest_first) - 1
    return [
        RunFacts(r.id, r.work_order_id, i == last, r.created_by_id, r.starting_trigger_id)
        for i, r in enumerate(runs_newest_first)
    ]
