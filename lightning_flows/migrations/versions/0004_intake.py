"""Intake: a run's final dataclip, opt-in retry of lost runs.

Revision ID: 0004
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from lightning_flows.core import online_ddl

revision: str = "0004"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("final_dataclip_id", sa.Uuid(), nullable=True))
    # NOT VALID, then validated apart on PostgreSQL: checking old runs does not block intake.
    online_ddl.add_foreign_key(
        "fk_runs_final_dataclip_id",
        "runs",
        "dataclips",
        ["final_dataclip_id"],
        ["id"],
        ondelete="SET NULL",
    )
    with op.batch_alter_table("workflows") as batch:
        batch.add_column(
            sa.Column("retry_lost_runs", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("workflows") as batch:
        batch.drop_column("retry_lost_runs")
    with op.batch_alter_table("runs") as batch:
        batch.drop_constraint("fk_runs_final_dataclip_id", type_="foreignkey")
        batch.drop_column("final_dataclip_id")
