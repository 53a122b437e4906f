"""Collection items (key/value, JSON text) and workflow templates.

Revision ID: 0016_collections
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import lightning_flows.core.db

revision: str = "0016_collections"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column(
            "inserted_at", lightning_flows.core.db.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("updated_at", lightning_flows.core.db.UTCDateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "collection_items",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("collection_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        *_timestamps(),
        sa.ForeignKeyConstraint(["collection_id"], ["collections.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("collection_id", "key", name="uq_collection_items_collection_key"),
    )
    op.create_index(
        "ix_collection_items_collection_order", "collection_items", ["collection_id", "id"]
    )
    op.create_table(
        "workflow_templates",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=True),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("tags", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_workflow_templates_project_id"), "workflow_templates", ["project_id"])
    op.create_index(op.f("ix_workflow_templates_created_by"), "workflow_templates", ["created_by"])


def downgrade() -> None:
    op.drop_index(op.f("ix_workflow_templates_created_by"), table_name="workflow_templates")
    op.drop_index(op.f("ix_workflow_templates_project_id"), table_name="workflow_templates")
    op.drop_table("workflow_templates")
    op.drop_index("ix_collection_items_collection_order", table_name="collection_items")
    op.drop_table("collection_items")
