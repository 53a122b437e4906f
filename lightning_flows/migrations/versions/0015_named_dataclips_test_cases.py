"""Named dataclips unique per project (searchable by name), workflow test cases.

Revision ID: 0015_testdata
Revises: 0012

The dataclip name index is partial (named rows only, a handful) and built
CONCURRENTLY on PostgreSQL, so intake keeps writing dataclips meanwhile.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import lightning_flows.core.db
from lightning_flows.core import online_ddl

revision: str = "0015_testdata"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column(
            "inserted_at", lightning_flows.core.db.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("updated_at", lightning_flows.core.db.UTCDateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "workflow_test_cases",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workflow_id", sa.Uuid(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("input_dataclip_id", sa.Uuid(), nullable=True),
        sa.Column("expected_data", _JSON, nullable=True),
        sa.Column("has_expected_data", sa.Boolean(), nullable=False),
        sa.Column("assertion", sqlmodel.sql.sqltypes.AutoString(length=10000), nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(["workflow_id"], ["workflows.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["input_dataclip_id"], ["dataclips.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workflow_id", "name", name="uq_workflow_test_cases_name"),
    )
    with op.batch_alter_table("workflow_test_cases") as batch:
        batch.create_index(batch.f("ix_workflow_test_cases_workflow_id"), ["workflow_id"])
        batch.create_index(
            batch.f("ix_workflow_test_cases_input_dataclip_id"), ["input_dataclip_id"]
        )
    # CONCURRENTLY on PostgreSQL, an invalid leftover of an interrupted build dropped first
    online_ddl.create_index(
        "uq_dataclips_project_name",
        "dataclips",
        ["project_id", "name"],
        unique=True,
        where="name IS NOT NULL",
    )


def downgrade() -> None:
    online_ddl.drop_index("uq_dataclips_project_name", "dataclips")
    op.drop_table("workflow_test_cases")
