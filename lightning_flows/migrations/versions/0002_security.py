"""Security: login lockout and TOTP replay guard on users, emailed one-time tokens,
instance settings, and the project an audit event belongs to.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import lightning_flows.core.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "instance_settings",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column(
            "value",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("updated_at", lightning_flows.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "user_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("context", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("expires_at", lightning_flows.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", lightning_flows.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "inserted_at", lightning_flows.core.db.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_user_tokens_token_hash", "user_tokens", ["token_hash"], unique=True)
    op.create_index("ix_user_tokens_user_id", "user_tokens", ["user_id"], unique=False)
    # Plain ADD COLUMN (no table rebuild): SQLite supports it natively.
    op.add_column("audit_events", sa.Column("project_id", sa.Uuid(), nullable=True))
    op.create_index("ix_audit_events_project_id", "audit_events", ["project_id"], unique=False)
    op.add_column("users", sa.Column("mfa_last_step", sa.Integer(), nullable=True))
    op.add_column(
        "users",
        sa.Column("failed_login_attempts", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column(
        "users",
        sa.Column(
            "locked_until", lightning_flows.core.db.UTCDateTime(timezone=True), nullable=True
        ),
    )


def downgrade() -> None:
    # Native DROP COLUMN (SQLite >= 3.35): rebuilding `users` would cascade deletes.
    op.drop_column("users", "locked_until")
    op.drop_column("users", "failed_login_attempts")
    op.drop_column("users", "mfa_last_step")
    op.drop_index("ix_audit_events_project_id", table_name="audit_events")
    op.drop_column("audit_events", "project_id")
    op.drop_index("ix_user_tokens_user_id", table_name="user_tokens")
    op.drop_index("ix_user_tokens_token_hash", table_name="user_tokens")
    op.drop_table("user_tokens")
    op.drop_table("instance_settings")
