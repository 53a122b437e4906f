"""Wake workers when runs are created: NOTIFY `lightning_runs` (PostgreSQL only).

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """A statement-level trigger: one notification per inserting transaction, delivered at
    commit; whoever creates runs (intake, manual runs, retries) wakes the workers."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE FUNCTION lightning_notify_runs() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('lightning_runs', '');
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER runs_inserted_notify AFTER INSERT ON runs "
        "FOR EACH STATEMENT EXECUTE FUNCTION lightning_notify_runs()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS runs_inserted_notify ON runs")
    op.execute("DROP FUNCTION IF EXISTS lightning_notify_runs()")
