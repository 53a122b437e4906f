"""Seeding the history benchmark's database: platform rows through the services, history
rows with COPY (secondary indexes dropped during the load and rebuilt after).

Imports the platform lazily: the caller sets LIGHTNING_* in the environment first.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Any

import psycopg
from history_rows import COLUMNS, COMMON, Flow, history_rows, needle_indexes

HISTORY_TABLES = tuple(COLUMNS)


class Seeder:
    """Creates one project with 4 workflows and `work_orders` work orders of history."""

    def __init__(self, db_url: str, work_orders: int) -> None:
        self.db_url = db_url
        self.total = work_orders
        self.counts: dict[str, int] = dict.fromkeys(HISTORY_TABLES, 0)
        self.newest = dt.datetime.now(dt.UTC).replace(microsecond=0)
        self._needles(work_orders)
        self.seconds = 0.0

    def _needles(self, total: int) -> None:
        """Search terms found in exactly one work order (and one in ~1% of them)."""
        case, output, record = needle_indexes(total)
        self.needle_case = f"C-{case:07d}"
        self.needle_output = f"REG-{output:07d}"
        self.needle_log = f"rec-{900_000 + record}"
        self.common_name = COMMON

    def run(self) -> None:
        started = time.monotonic()
        from lightning_flows.core import migrate

        migrate.upgrade(self.db_url.replace("postgresql://", "postgresql+psycopg://"))
        self._platform_rows()
        with psycopg.connect(self.db_url) as conn:
            indexes = conn.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s) "
                "AND indexname NOT LIKE '%%_pkey'",
                [list(HISTORY_TABLES)],
            ).fetchall()
            for index_name, _definition in indexes:
                conn.execute(f'DROP INDEX "{index_name}"')
            conn.execute("SET session_replication_role = replica")  # no FK triggers while loading
            self._copy(conn)
            conn.execute("SET session_replication_role = DEFAULT")
            conn.execute("SET maintenance_work_mem = '512MB'")
            for _index_name, definition in indexes:
                conn.execute(definition)
            conn.commit()
        with psycopg.connect(self.db_url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
        self.seconds = time.monotonic() - started

    def reuse(self) -> None:
        """Attach to a database seeded by an earlier run (`--reuse`): read back its ids."""
        from sqlmodel import Session, select

        from lightning_flows.accounts import sessions
        from lightning_flows.accounts.models import User
        from lightning_flows.core.db import get_engine

        started = time.monotonic()
        with psycopg.connect(self.db_url) as conn:
            self.project_id = _one(conn, "SELECT id FROM projects")
            workflows = conn.execute("SELECT id FROM workflows ORDER BY inserted_at").fetchall()
            self.workflow_ids = [row[0] for row in workflows]
            self.newest = _one(conn, "SELECT max(inserted_at) FROM work_orders")
            for table in HISTORY_TABLES:
                self.counts[table] = _one(conn, f"SELECT count(*) FROM {table}")  # noqa: S608
        self._needles(self.counts["work_orders"])
        with Session(get_engine()) as db:
            user = db.exec(select(User)).one()
            self.cookie = sessions.create_session(db, user, mfa_verified=True)
        self.seconds = time.monotonic() - started

    def _platform_rows(self) -> None:
        from sqlmodel import Session

        from lightning_flows.accounts import service as accounts
        from lightning_flows.accounts import sessions
        from lightning_flows.accounts.schemas import UserCreate
        from lightning_flows.core.db import get_engine
        from lightning_flows.projects import service as projects
        from lightning_flows.projects.schemas import ProjectCreate
        from lightning_flows.workflows import service as workflows
        from lightning_flows.workflows.schemas import EdgeDoc, JobDoc, TriggerDoc, WorkflowDocument

        with Session(get_engine(), expire_on_commit=False) as db:
            user = accounts.create_user(
                db,
                UserCreate(email="bench@example.org", password="benchmark password 1"),  # noqa: S106
            )
            self.cookie = sessions.create_session(db, user, mfa_verified=True)
            project = projects.create_project(db, ProjectCreate(name="Case management"), user)
            self.project_id = project.id
            self.flows: list[Flow] = []
            for name in ("intake", "referrals", "sync-dhis2", "reminders"):
                fetch, load, trigger = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
                adaptor = "@openfn/language-common@3.3.4"
                doc = WorkflowDocument(
                    name=name,
                    jobs=[
                        JobDoc(id=fetch, name="fetch", body="fn(s => s);", adaptor=adaptor),
                        JobDoc(id=load, name="load", body="fn(s => s);", adaptor=adaptor),
                    ],
                    triggers=[TriggerDoc(id=trigger, type="webhook")],  # type: ignore[arg-type]
                    edges=[
                        EdgeDoc(source_trigger_id=trigger, target_job_id=fetch),
                        EdgeDoc(
                            source_job_id=fetch,
                            target_job_id=load,
                            condition_type="on_job_success",  # type: ignore[arg-type]
                        ),
                    ],
                )
                public = workflows.create_workflow(db, project.id, doc, actor_id=user.id)
                snapshot = workflows.latest_snapshot(db, public.id)
                self.flows.append(Flow(public.id, snapshot.id, trigger, fetch, load))
            db.commit()
        self.workflow_ids = [flow.id for flow in self.flows]

    def _copy(self, conn: psycopg.Connection[Any]) -> None:
        buffers: dict[str, list[tuple[Any, ...]]] = {t: [] for t in HISTORY_TABLES}
        with conn.cursor() as cur:
            for table, values in history_rows(self.project_id, self.flows, self.total, self.newest):
                buffers[table].append(values)
                if len(buffers[table]) >= 20_000:
                    self._flush(cur, table, buffers[table])
            for table in HISTORY_TABLES:
                self._flush(cur, table, buffers[table])

    def _flush(self, cur: Any, table: str, rows: list[tuple[Any, ...]]) -> None:
        with cur.copy(f"COPY {table} ({', '.join(COLUMNS[table])}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        self.counts[table] += len(rows)
        rows.clear()


def _one(conn: psycopg.Connection[Any], sql: str) -> Any:
    row = conn.execute(sql).fetchone()  # type: ignore[call-overload]
    return row[0] if row else None
