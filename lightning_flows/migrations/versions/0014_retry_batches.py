"""Bulk retries (retry_batches, retry_batch_items) and log lines' sequence.

Revision ID: 0014_batches
Revises: 0012

`log_lines.sequence` has a server default: adding it rewrites nothing (PostgreSQL 11+,
SQLite's ADD COLUMN). The new tables are new: no lock on a hot table.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import lightning_flows.core.db

revision: str = "0014_batches"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")
_TIME = lightning_flows.core.db.UTCDateTime(timezone=True)


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.add_column(
        "log_lines", sa.Column("sequence", sa.Integer(), nullable=False, server_default="0")
    )
    op.create_table(
        "retry_batches",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("client_key", _text(255), nullable=True),
        sa.Column("start_job_id", sa.Uuid(), nullable=True),
        sa.Column("selection", _JSON, nullable=True),
        sa.Column("state", _text(16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("queued", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("skipped_reasons", _JSON, nullable=False),
        sa.Column("lease_owner", _text(255), nullable=True),
        sa.Column("lease_until", _TIME, nullable=True),
        sa.Column("inserted_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.Column("queued_at", _TIME, nullable=True),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", "client_key", name="uq_retry_batches_project_client_key"),
    )
    op.create_index("ix_retry_batches_state", "retry_batches", ["state"])
    op.create_table(
        "retry_batch_items",
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("work_order_id", sa.Uuid(), nullable=False),
        sa.Column("status", _text(16), nullable=False),
        sa.Column("reason", _text(32), nullable=True),
        sa.Column("run_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["batch_id"], ["retry_batches.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["work_order_id"], ["work_orders.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("batch_id", "work_order_id"),
    )
    op.create_index(
        "ix_retry_batch_items_work_order_status",
        "retry_batch_items",
        ["work_order_id", "status"],
    )
    op.create_index("ix_retry_batch_items_run_id", "retry_batch_items", ["run_id"])


def downgrade() -> None:
    op.drop_table("retry_batch_items")
    op.drop_table("retry_batches")
    with op.batch_alter_table("log_lines") as batch:
        batch.drop_column("sequence")
