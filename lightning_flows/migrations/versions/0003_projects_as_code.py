"""Projects as code: git links of projects, workflow change alerts.

Revision ID: 0003
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import lightning_flows.core.crypto
import lightning_flows.core.db

revision: str = "0003"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "project_repo_connections",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("remote_url", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=False),
        sa.Column("branch", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("auth_type", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("secret", lightning_flows.core.crypto.EncryptedString(), nullable=True),
        sa.Column("known_hosts", sa.Text(), nullable=True),
        sa.Column("webhook_secret", lightning_flows.core.crypto.EncryptedString(), nullable=True),
        sa.Column("last_synced_commit", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column(
            "last_synced_at", lightning_flows.core.db.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column(
            "inserted_at", lightning_flows.core.db.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("updated_at", lightning_flows.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "auth_type IN ('none','token','ssh_key')", name="ck_project_repo_connections_auth"
        ),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id"),
    )
    with op.batch_alter_table("project_repo_connections") as batch:
        batch.create_index(
            batch.f("ix_project_repo_connections_created_by_id"), ["created_by_id"], unique=False
        )
    with op.batch_alter_table("project_users") as batch:
        batch.add_column(
            sa.Column(
                "workflow_change_alert", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("project_users") as batch:
        batch.drop_column("workflow_change_alert")
    with op.batch_alter_table("project_repo_connections") as batch:
        batch.drop_index(batch.f("ix_project_repo_connections_created_by_id"))
    op.drop_table("project_repo_connections")
