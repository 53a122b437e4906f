"""Sync replies (`webhook_reply: after_completion`): hold the request until the run ends."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from lightning_flows.core.db import get_engine
from lightning_flows.runs.models import Dataclip, Run
from lightning_flows.runs.states import FINAL_RUN_STATES

POLL_SECONDS = 0.05


@dataclass(frozen=True)
class Finished:
    state: str
    final_state: Any


def _read(run_id: uuid.UUID) -> Finished | None:
    with Session(get_engine()) as session:
        run = session.get(Run, run_id)
        if run is None or run.state not in FINAL_RUN_STATES:
            return None
        clip = session.get(Dataclip, run.final_dataclip_id) if run.final_dataclip_id else None
        return Finished(run.state, clip.body if clip else None)


async def wait_for_run(run_id: uuid.UUID, timeout: float) -> Finished | None:
    """The finished run, or None when `timeout` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        finished = await run_in_threadpool(_read, run_id)
        if finished is not None or time.monotonic() >= deadline:
            return finished
        await asyncio.sleep(POLL_SECONDS)


def custom_response(final_state: Any) -> tuple[int, Any] | None:
    """`state.webhookResponse = {status, body}` set by a job chooses the reply."""
    if not isinstance(final_state, dict):
        return None
    chosen = final_state.get("webhookResponse")
    if not isinstance(chosen, dict):
        return None
    status = chosen.get("status", 200)
    if not isinstance(status, int) or not 100 <= status <= 599:
        status = 200
    return status, chosen.get("body")
