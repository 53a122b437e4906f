"""Spec parity with Lightning: Kafka triggers, webhook response settings, `@latest` as
written, collections and channels.

Revision ID: 0008
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import lightning_flows.core.db

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0006"
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
    with op.batch_alter_table("triggers") as batch:
        batch.drop_constraint("ck_triggers_type", type_="check")
        batch.create_check_constraint("ck_triggers_type", "type IN ('webhook','cron','kafka')")
        batch.add_column(sa.Column("webhook_response_config", _JSON, nullable=True))
        batch.add_column(sa.Column("kafka_configuration", _JSON, nullable=True))
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(
            sa.Column(
                "adaptor_requested", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True
            )
        )
    op.create_table(
        "collections",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        *_timestamps(),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", "name", name="uq_collections_project_name"),
    )
    op.create_table(
        "channels",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("destination_url", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("destination_credential_id", sa.Uuid(), nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["destination_credential_id"], ["project_credentials.id"], ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", "name", name="uq_channels_project_name"),
    )
    with op.batch_alter_table("collections") as batch:
        batch.create_index(batch.f("ix_collections_project_id"), ["project_id"], unique=False)
    with op.batch_alter_table("channels") as batch:
        batch.create_index(batch.f("ix_channels_project_id"), ["project_id"], unique=False)
        batch.create_index(
            batch.f("ix_channels_destination_credential_id"),
            ["destination_credential_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("channels") as batch:
        batch.drop_index(batch.f("ix_channels_destination_credential_id"))
        batch.drop_index(batch.f("ix_channels_project_id"))
    with op.batch_alter_table("collections") as batch:
        batch.drop_index(batch.f("ix_collections_project_id"))
    op.drop_table("channels")
    op.drop_table("collections")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("adaptor_requested")
    op.execute("DELETE FROM triggers WHERE type = 'kafka'")
    with op.batch_alter_table("triggers") as batch:
        batch.drop_column("kafka_configuration")
        batch.drop_column("webhook_response_config")
        batch.drop_constraint("ck_triggers_type", type_="check")
        batch.create_check_constraint("ck_triggers_type", "type IN ('webhook','cron')")
