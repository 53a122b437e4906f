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
from enum import StrEnum

from lightning_flows.runs.models import DataclipType


class Origin(StrEnum):
    WEBHOOK = "webhook"
    CRON = "cron"
    MANUAL = "manual"
    RETRY = "retry"
    BULK = "bulk"


def origin_of(
    *,
    first: bool,
    in_batch: bool,
    created_by_id: uuid.UUID | None,
    trigger_type: str | None,
    input_type: str | None,
) -> Origin:
    """What started a run, from what it records (see the module's docstring)."""
    if in_batch:
        return Origin.BULK
    if not first:
        return Origin.RETRY
    if created_by_id is not None or input_type == DataclipType.SAVED_INPUT.value:
        return Origin.MANUAL
    if trigger_type == "cron":
        return Origin.CRON
    if input_type == DataclipType.HTTP_REQUEST.value:
        return Origin.WEBHOOK
    return Origin.MANUAL
