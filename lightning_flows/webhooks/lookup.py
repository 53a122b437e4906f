"""Finding the webhook trigger behind `/i/{key}`: by trigger id or custom path, cached.

Intake is the hot path, so what it needs (the trigger, its workflow's latest
snapshot, its auth methods) is read once and kept for a few seconds, refreshed
ahead of expiry; workflow saves clear this process's cache at once.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlmodel import Session, col, select

from lightning_flows.core.db import get_engine
from lightning_flows.credentials.models import TriggerWebhookAuthMethod, WebhookAuthMethod
from lightning_flows.workflows.events import WorkflowChanged, subscribe
from lightning_flows.workflows.models import Trigger, TriggerType, Workflow, WorkflowSnapshot

CACHE_SECONDS = 5.0
REFRESH_AFTER_SECONDS = 4.0
log = logging.getLogger(__name__)


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
    # Lightning's webhook_response_config: the sync reply's status on success / failure
    reply_codes: tuple[int | None, int | None] = (None, None)


_cache: dict[str, tuple[float, WebhookTarget | None]] = {}
_lock = threading.Lock()
_load_lock = threading.Lock()  # one load at a time: a busy trigger's expiry is no stampede
_generation = 0  # bumped by every clear: a load that started before is not cached
_refreshing: set[str] = set()
_refresher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="webhook-lookup")

MISS: object = object()


def cached_target(key: str) -> WebhookTarget | object | None:
    """The cached answer for `key` without touching the database, or MISS.

    An answer near its expiry is refreshed in the background, so requests to a busy
    trigger never wait for the database."""
    hit = _cache.get(key)
    if hit is None:
        return MISS
    age = time.monotonic() - hit[0]
    if age >= CACHE_SECONDS:
        return MISS
    if age >= REFRESH_AFTER_SECONDS and key not in _refreshing:
        with _lock:
            if key in _refreshing:
                return hit[1]
            _refreshing.add(key)
        _refresher.submit(_refresh, key)
    return hit[1]


def find_target(key: str) -> WebhookTarget | None:
    """The live webhook trigger at `key` (trigger id or custom path), or None."""
    hit = _fresh(key)
    if hit is not None:
        return hit[1]
    with _load_lock:
        hit = _fresh(key)  # loaded while this thread waited
        if hit is not None:
            return hit[1]
        return _load_and_cache(key)


def clear_cache(_event: WorkflowChanged | None = None) -> None:
    global _generation
    with _lock:
        _generation += 1
        _cache.clear()


subscribe(clear_cache)


def _fresh(key: str) -> tuple[float, WebhookTarget | None] | None:
    hit = _cache.get(key)
    return hit if hit and time.monotonic() - hit[0] < CACHE_SECONDS else None


def _load_and_cache(key: str) -> WebhookTarget | None:
    generation, loaded_at = _generation, time.monotonic()
    target = _load(key)
    with _lock:
        if generation == _generation:
            _cache[key] = (loaded_at, target)
    return target


def _refresh(key: str) -> None:
    try:
        with _load_lock:
            _load_and_cache(key)
    except Exception:  # the entry expires and the next request reports the failure
        log.warning("could not refresh the webhook trigger at %r", key, exc_info=True)
    finally:
        with _lock:
            _refreshing.discard(key)


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
            reply_codes=_reply_codes(trigger.webhook_response_config),
        )


def _reply_codes(config: dict | None) -> tuple[int | None, int | None]:
    config = config or {}
    return config.get("success_code"), config.get("error_code")
