"""Workflow change notifications, published only after the change is committed.

Other contexts subscribe (the engine keeps each workflow's Prefect deployment
in step). A failing subscriber is logged and never undoes the save. Subscribers
run in the saving request's thread, after its transaction: one that calls a
remote service queues the work instead (`engine.deployment_publisher`), so a
slow or unreachable service never holds up a save.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkflowChanged:
    workflow_id: uuid.UUID
    project_id: uuid.UUID
    kind: Literal["saved", "deleted"]


Subscriber = Callable[[WorkflowChanged], None]
_subscribers: list[Subscriber] = []


def subscribe(fn: Subscriber) -> Subscriber:
    """Register `fn` to hear about every committed workflow change (idempotent)."""
    if fn not in _subscribers:
        _subscribers.append(fn)
    return fn


def unsubscribe(fn: Subscriber) -> None:
    if fn in _subscribers:
        _subscribers.remove(fn)


def publish(event: WorkflowChanged) -> None:
    for fn in list(_subscribers):
        try:
            fn(event)
        except Exception:
            log.exception("workflow event subscriber %r failed for %s", fn, event)
