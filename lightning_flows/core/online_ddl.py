"""Schema changes that keep hot tables writable while they run (PostgreSQL), for migrations.

Webhooks insert into dataclips, work_orders and runs all the time, and workers update runs
and steps, so a migration must never hold a lock that blocks those writes for longer than
a moment (docs/operations.md, "Writing migrations"):

- an index on a big table is built `CONCURRENTLY`, outside the migration's transaction
  (a plain CREATE INDEX blocks every INSERT until the whole table is read);
- a foreign key is added `NOT VALID`, then validated in a transaction of its own (the
  validation scan takes a lock that lets writes through);
- every other ALTER TABLE waits at most `lock_timeout` for its lock (set by the migration
  environment) and the upgrade is retried, so it never queues all traffic behind a long
  transaction.

On SQLite (one writer, small databases) these are the plain operations.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def create_index(
    name: str,
    table: str,
    columns: Sequence[str],
    *,
    unique: bool = False,
    where: str | None = None,
) -> None:
    """Create an index without blocking writes to `table` (CONCURRENTLY on PostgreSQL);
    `where` (SQL) makes it partial."""
    if not _postgresql():
        condition = text(where) if where else None
        op.create_index(name, table, list(columns), unique=unique, sqlite_where=condition)
        return
    quoted = ", ".join(f'"{c}"' for c in columns)
    kind = "UNIQUE INDEX" if unique else "INDEX"
    partial = f" WHERE {where}" if where else ""
    with op.get_context().autocommit_block():
        _drop_if_invalid(name)  # left behind by an interrupted concurrent build
        # Waiting for older transactions blocks nobody here: no lock_timeout for this one.
        op.execute("SET lock_timeout = 0")
        try:
            op.execute(
                f'CREATE {kind} CONCURRENTLY IF NOT EXISTS "{name}" ON "{table}" ({quoted})'
                + partial
            )
        finally:
            op.execute("RESET lock_timeout")


def drop_index(name: str, table: str) -> None:
    """Drop an index without blocking writes to `table` (CONCURRENTLY on PostgreSQL)."""
    if not _postgresql():
        op.drop_index(name, table_name=table)
        return
    with op.get_context().autocommit_block():
        op.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')


def add_foreign_key(
    name: str,
    table: str,
    referent: str,
    local: Sequence[str],
    remote: Sequence[str],
    *,
    ondelete: str | None = None,
) -> None:
    """Add a foreign key whose check of existing rows does not block writes to `table`."""
    if not _postgresql():
        with op.batch_alter_table(table) as batch:
            batch.create_foreign_key(name, referent, list(local), list(remote), ondelete=ondelete)
        return
    cols = ", ".join(f'"{c}"' for c in local)
    refs = ", ".join(f'"{c}"' for c in remote)
    action = f" ON DELETE {ondelete}" if ondelete else ""
    with op.get_context().autocommit_block():
        op.execute(
            f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" FOREIGN KEY ({cols}) '
            f'REFERENCES "{referent}" ({refs}){action} NOT VALID'
        )
        op.execute(f'ALTER TABLE "{table}" VALIDATE CONSTRAINT "{name}"')


def _drop_if_invalid(name: str) -> None:
    invalid = (
        op.get_bind()
        .execute(
            text(
                "SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE c.relname = :name AND NOT i.indisvalid"
            ),
            {"name": name},
        )
        .first()
    )
    if invalid:
        op.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')
