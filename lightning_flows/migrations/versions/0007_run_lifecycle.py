"""Run lifecycle: worker heartbeats (dead workers' runs are taken over) and a workflow's
choice of what happens to its runs when their worker dies.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lightning_flows.core.db
from lightning_flows.core import online_ddl

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "workers",
        sa.Column("name", sa.String(length=255), primary_key=True),
        sa.Column("hostname", sa.String(length=255), nullable=False, server_default=""),
        sa.Column("pid", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("concurrency", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("started_at", lightning_flows.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "last_heartbeat_at", lightning_flows.core.db.UTCDateTime(timezone=True), nullable=False
        ),
    )
    # A server default: adding the column does not rewrite the table (PostgreSQL 11+).
    with op.batch_alter_table("workflows") as batch:
        batch.add_column(
            sa.Column(
                "on_worker_loss", sa.String(length=16), nullable=False, server_default="resume"
            )
        )
        batch.create_check_constraint(
            "ck_workflows_on_worker_loss", "on_worker_loss IN ('resume', 'mark_lost')"
        )
    # Built concurrently on PostgreSQL: runs takes inserts all the time.
    online_ddl.create_index("ix_runs_worker_name_state", "runs", ["worker_name", "state"])


def downgrade() -> None:
    online_ddl.drop_index("ix_runs_worker_name_state", "runs")
    with op.batch_alter_table("workflows") as batch:
        batch.drop_constraint("ck_workflows_on_worker_loss", type_="check")
        batch.drop_column("on_worker_loss")
    op.drop_table("workers")
