"""Failure alerts: per-workflow subscriptions, the alert outbox, throttle windows,
project alert webhooks and digest deliveries.

Revision ID: 0013_alerts
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import lightning_flows.core.db

revision: str = "0013_alerts"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_TIME = lightning_flows.core.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    # project_users is small (members), and a nullable column without default is
    # metadata-only on PostgreSQL.
    with op.batch_alter_table("project_users") as batch:
        batch.add_column(sa.Column("failure_alert_workflow_ids", _JSON, nullable=True))
    op.create_table(
        "alert_outbox",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("inserted_at", _TIME, nullable=False),
    )
    op.create_table(
        "alert_throttles",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "workflow_id",
            sa.Uuid(),
            sa.ForeignKey("workflows.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("window_start", _TIME, nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("suppressed", sa.Integer(), nullable=False),
        sa.Column("errors", _JSON, nullable=False),
        sa.UniqueConstraint(
            "workflow_id", "recipient", name="uq_alert_throttles_workflow_recipient"
        ),
    )
    op.create_table(
        "alert_webhooks",
        sa.Column(
            "project_id",
            sa.Uuid(),
            sa.ForeignKey("projects.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("inserted_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
    )
    op.create_table(
        "digest_deliveries",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "project_id",
            sa.Uuid(),
            sa.ForeignKey("projects.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "user_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("frequency", sa.String(length=16), nullable=False),
        sa.Column("period_start", _TIME, nullable=False),
        sa.Column("sent_at", _TIME, nullable=False),
        sa.UniqueConstraint(
            "project_id", "user_id", "frequency", "period_start", name="uq_digest_deliveries"
        ),
    )
    op.create_index("ix_digest_deliveries_user_id", "digest_deliveries", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_digest_deliveries_user_id", table_name="digest_deliveries")
    op.drop_table("digest_deliveries")
    op.drop_table("alert_webhooks")
    op.drop_table("alert_throttles")
    op.drop_table("alert_outbox")
    with op.batch_alter_table("project_users") as batch:
        batch.drop_column("failure_alert_workflow_ids")
