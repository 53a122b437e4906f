"""Failure alert tables: the outbox of run endings, throttle windows, project alert
webhooks and the digests already sent."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from lightning_flows.core.crypto import EncryptedString
from lightning_flows.core.models import created_at, fk, json_column, uuid_pk


class AlertOutbox(SQLModel, table=True):
    """A run that ended failed/crashed/killed/exception/lost, waiting to be alerted.

    Written right after the run-ending transaction commits (notifications/outbox.py)
    and drained by the workers (notifications/dispatch.py), so alerts survive a restart.
    """

    __tablename__ = "alert_outbox"

    id: uuid.UUID = uuid_pk()
    run_id: uuid.UUID = Field(description="No foreign key: a run purged meanwhile is skipped.")
    state: str = Field(max_length=16)
    inserted_at: datetime = created_at()


class AlertThrottle(SQLModel, table=True):
    """One recipient's alert window for one workflow: mails sent, failures held back."""

    __tablename__ = "alert_throttles"
    __table_args__ = (
        UniqueConstraint("workflow_id", "recipient", name="uq_alert_throttles_workflow_recipient"),
    )

    id: uuid.UUID = uuid_pk()
    workflow_id: uuid.UUID = fk("workflows.id", index=False)
    recipient: str = Field(max_length=64, description="'user:<id>' or 'webhook'")
    window_start: datetime = created_at()
    sent: int = 0
    suppressed: int = 0
    errors: dict[str, Any] = json_column(nullable=False, default=dict)


class AlertWebhook(SQLModel, table=True):
    """A project's outgoing alert webhook (the URL may hold a token: encrypted at rest)."""

    __tablename__ = "alert_webhooks"

    project_id: uuid.UUID = Field(foreign_key="projects.id", ondelete="CASCADE", primary_key=True)
    url: str = Field(sa_type=EncryptedString, nullable=False)
    inserted_at: datetime = created_at()
    updated_at: datetime = created_at()


class DigestDelivery(SQLModel, table=True):
    """A digest period already sent to a member (a second run of the digest flow skips it)."""

    __tablename__ = "digest_deliveries"
    __table_args__ = (
        UniqueConstraint(
            "project_id", "user_id", "frequency", "period_start", name="uq_digest_deliveries"
        ),
    )

    id: uuid.UUID = uuid_pk()
    project_id: uuid.UUID = fk("projects.id", index=False)
    user_id: uuid.UUID = fk("users.id")
    frequency: str = Field(max_length=16)
    period_start: datetime = created_at()
    sent_at: datetime = created_at()
