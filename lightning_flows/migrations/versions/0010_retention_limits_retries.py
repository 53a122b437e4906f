"""Retention, usage limits and step retries: job retry settings, a step's attempt,
project limits and per-run overrides, the monthly usage counter.

Revision ID: 0010
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PROJECT_LIMITS = (
    "run_limit_per_month",
    "max_concurrent_runs",
    "step_timeout_seconds",
    "step_memory_limit_mb",
    "state_limit_bytes",
)


def upgrade() -> None:
    # Server defaults: adding the columns does not rewrite the tables (PostgreSQL 11+).
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(
            sa.Column("max_attempts", sa.Integer(), nullable=False, server_default="1")
        )
        batch.add_column(
            sa.Column("retry_delay_seconds", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("retry_backoff", sa.Float(), nullable=False, server_default="1"))
        batch.add_column(
            sa.Column("retry_on_kill", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.create_check_constraint("ck_jobs_max_attempts", "max_attempts BETWEEN 1 AND 10")
    with op.batch_alter_table("steps") as batch:
        batch.add_column(sa.Column("attempt", sa.Integer(), nullable=False, server_default="1"))
    with op.batch_alter_table("projects") as batch:
        for name in _PROJECT_LIMITS:
            batch.add_column(sa.Column(name, sa.Integer(), nullable=True))
    op.create_table(
        "project_usage",
        sa.Column(
            "project_id",
            sa.Uuid(),
            sa.ForeignKey("projects.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("month", sa.String(length=7), primary_key=True),
        sa.Column("runs", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("alerted_percent", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("project_usage")
    with op.batch_alter_table("projects") as batch:
        for name in reversed(_PROJECT_LIMITS):
            batch.drop_column(name)
    with op.batch_alter_table("steps") as batch:
        batch.drop_column("attempt")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_constraint("ck_jobs_max_attempts", type_="check")
        for name in ("retry_on_kill", "retry_backoff", "retry_delay_seconds", "max_attempts"):
            batch.drop_column(name)
