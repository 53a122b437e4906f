"""Merge this round's four branches: alerts, retry batches, test data, collections.

Revision ID: 0017
Revises: 0013_alerts, 0014_batches, 0015_testdata, 0016_collections
"""

from collections.abc import Sequence

revision: str = "0017"
down_revision: str | Sequence[str] | None = (
    "0013_alerts",
    "0014_batches",
    "0015_testdata",
    "0016_collections",
)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing to change: the branches add different tables and columns."""


def downgrade() -> None:
    """Nothing to undo."""
