"""Draining the alert outbox: each worker sends the failure alerts waiting.

Every `LIGHTNING_ALERT_POLL_SECONDS` a worker takes a batch of outbox rows (one
`DELETE ... RETURNING`: two workers never take the same row), decides in the same
transaction who gets a mail and whether the webhook is posted (the throttle), commits,
and only then talks to the mail server and the webhook. A mail server that is down
costs that batch's mails (logged), never a run. Windows that are over get their
summary first.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from lightning_flows.accounts.models import User
from lightning_flows.core import mail
from lightning_flows.core.config import get_settings
from lightning_flows.core.db import session_scope
from lightning_flows.core.timeutil import utcnow
from lightning_flows.notifications import failures, throttle, webhook
from lightning_flows.notifications.models import AlertOutbox, AlertWebhook
from lightning_flows.projects.models import Project
from lightning_flows.workflows.models import Workflow

log = logging.getLogger(__name__)
BATCH = 200


@dataclass
class Deliveries:
    """What one batch sends once its transaction committed."""

    mails: list[tuple[str, str, str]] = field(default_factory=list)  # (to, subject, body)
    posts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (url, payload)

    def send(self) -> None:
        for to, subject, body in self.mails:
            try:
                mail.send_mail(to, subject, body)
            except mail.MailUnavailable:
                log.warning("a failure alert to a member could not be sent")
        for url, payload in self.posts:
            webhook.send(url, payload)


def drain_once(now: datetime | None = None, batch: int = BATCH) -> int:
    """Send due summaries, then the alerts of up to `batch` run endings; returns how many
    endings were taken."""
    now = now or utcnow()
    out = Deliveries()
    with session_scope() as session:
        for summary in throttle.take_due_summaries(session, now):
            _plan_summary(session, summary, out)
    out.send()
    out = Deliveries()
    with session_scope() as session:
        oldest = (
            select(col(AlertOutbox.id))
            .order_by(col(AlertOutbox.inserted_at))
            .limit(batch)
            .scalar_subquery()
        )
        taken = cast(
            Sequence[tuple[uuid.UUID, str]],
            session.execute(
                delete(AlertOutbox)
                .where(col(AlertOutbox.id).in_(oldest))
                .returning(col(AlertOutbox.run_id), col(AlertOutbox.state))
            ).all(),
        )
        for run_id, state in taken:
            _plan_alert(session, run_id, state, now, out)
    out.send()
    return len(taken)


def serve(stopping: threading.Event, interval: float | None = None) -> None:
    """Drain until `stopping` is set (a worker's thread); errors are logged and retried."""
    interval = interval or get_settings().alert_poll_seconds
    while not stopping.is_set():
        try:
            busy = drain_once() >= BATCH
        except IntegrityError:  # another worker opened the same throttle window: retry
            busy = True
        except Exception:
            log.exception("sending failure alerts failed; retrying")
            busy = False
        if not busy and stopping.wait(interval):
            return


def _plan_alert(
    session: Session, run_id: uuid.UUID, state: str, now: datetime, out: Deliveries
) -> None:
    alert = failures.load_alert(session, run_id, state)
    if alert is None:
        return
    if get_settings().smtp_host:
        subject, body = failures.alert_mail(alert)
        for member in failures.recipients(session, alert.project_id, alert.workflow_id):
            recipient = throttle.user_recipient(member.user_id)
            if throttle.admit(session, alert.workflow_id, recipient, now, alert.error):
                out.mails.append((member.email, subject, body))
    hook = session.get(AlertWebhook, alert.project_id)
    if hook is not None and throttle.admit(
        session, alert.workflow_id, throttle.WEBHOOK, now, alert.error
    ):
        out.posts.append((hook.url, alert.payload()))


def _plan_summary(session: Session, summary: throttle.Summary, out: Deliveries) -> None:
    workflow = session.get(Workflow, summary.workflow_id)
    project = session.get(Project, workflow.project_id) if workflow else None
    if workflow is None or project is None:
        return
    if summary.recipient == throttle.WEBHOOK:
        hook = session.get(AlertWebhook, project.id)
        if hook is not None:
            out.posts.append((hook.url, failures.summary_payload(summary, project, workflow)))
        return
    user_id = uuid.UUID(summary.recipient.removeprefix("user:"))
    still = {r.user_id for r in failures.recipients(session, project.id, workflow.id)}
    user = session.get(User, user_id)
    if user is not None and user_id in still and get_settings().smtp_host:
        subject, body = failures.summary_mail(summary, project, workflow)
        out.mails.append((user.email, subject, body))
