"""Finding the webhook trigger behind `/i/{key}`: by trigger id or custom path, cached.

Intake is the hot path, so what it needs (the trigger, its workflow's latest
snapshot, its auth methods) is read once and kept for a few seconds; workflow
saves clear the cache at once.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass

from sqlmodel import Session, col, select

from lightning_flows.core.db import get_engine
from lightning_flows.credentials.models import TriggerWebhookAuthMethod, WebhookAuthMethod
from lightning_flows.workflows.events import WorkflowChanged, subscribe
from lightning_flows.workflows.models import Trigger, TriggerType, Workflow, WorkflowSnapshot

CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class AuthMethod:
    auth_type: str
    username: str | None
    secret: str


@dataclass(frozen=True)
class WebhookTarget:
    trigger_id: uuid.UUID
    workflow_id: uuid.UUID
    workflow_name: str
    project_id: uuid.UUID
    snapshot_id: uuid.UUID
    enabled: bool
    reply: str
    auth_methods: tuple[AuthMethod, ...]


_cache: dict[str, tuple[float, WebhookTarget | None]] = {}
_lock = threading.Lock()


MISS: object = object()


def cached_target(key: str) -> WebhookTarget | object | None:
    """The cached answer for `key` without touching the database, or MISS."""
    hit = _cache.get(key)
    if hit and time.monotonic() - hit[0] < CACHE_SECONDS:
        return hit[1]
    return MISS


def find_target(key: str) -> WebhookTarget | None:
    """The live webhook trigger at `key` (trigger id or custom path), or None."""
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key)
    if hit and now - hit[0] < CACHE_SECONDS:
        return hit[1]
    target = _load(key)
    with _lock:
        _cache[key] = (now, target)
    return target


def clear_cache(_event: WorkflowChanged | None = None) -> None:
    with _lock:
        _cache.clear()


subscribe(clear_cache)


def _load(key: str) -> WebhookTarget | None:
    with Session(get_engine()) as session:
        trigger = session.exec(select(Trigger).where(Trigger.custom_path == key)).first()
        if trigger is None:
            try:
                trigger = session.get(Trigger, uuid.UUID(key))
            except ValueError:
                return None
        if trigger is None or trigger.type != TriggerType.WEBHOOK.value:
            return None
        workflow = session.get(Workflow, trigger.workflow_id)
        if workflow is None or workflow.deleted_at is not None:
            return None
        snapshot_id = session.exec(
            select(WorkflowSnapshot.id)
            .where(WorkflowSnapshot.workflow_id == workflow.id)
            .order_by(col(WorkflowSnapshot.lock_version).desc())
        ).first()
        if snapshot_id is None:
            return None
        methods = session.exec(
            select(WebhookAuthMethod)
            .join(TriggerWebhookAuthMethod)
            .where(
                TriggerWebhookAuthMethod.trigger_id == trigger.id,
                col(WebhookAuthMethod.scheduled_deletion_at).is_(None),
            )
        ).all()
        return WebhookTarget(
            trigger_id=trigger.id,
            workflow_id=workflow.id,
            workflow_name=workflow.name,
            project_id=workflow.project_id,
            snapshot_id=snapshot_id,
            enabled=trigger.enabled,
            reply=trigger.webhook_reply or "before_start",
            auth_methods=tuple(
                AuthMethod(
                    m.auth_type,
                    m.username,
                    (m.password if m.auth_type == "basic" else m.api_key) or "",
                )
                for m in methods
            ),
        )
