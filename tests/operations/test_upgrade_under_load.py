"""`lightning-flows db upgrade` on a database with 100,000 runs while webhooks keep arriving
(docs/operations.md, "Upgrading"): none fails, none waits long, all are stored, even with a
long transaction in the way of a migration's lock."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from lightning_flows.core import migrate
from lightning_flows.runs import intake_batch
from lightning_flows.runs.rows import WEBHOOK_PRIORITY
from lightning_flows.webhooks.bodies import Body
from tests import factories
from tests.support.processes import CLI, scratch_database

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.environ.get("LIGHTNING_TEST_DATABASE_URL"),
        reason="upgrades of a live, populated database are a PostgreSQL matter (locks, "
        "concurrent index builds); SQLite has one writer and takes no traffic while migrating",
    ),
]
RUNS = 100_000
# The newest migrations that touch runs and steps (0007: an index on runs; 0010: a column on
# steps) and the tables webhooks read (workflows, triggers) come after this revision.
BEFORE = "0006"
RATE = 50  # webhooks per second
BOUND = 2.0  # seconds: no webhook may wait longer
READER_HOLDS = 3.0  # seconds a long transaction holds workflows once the upgrade waits on it


@dataclass(frozen=True)
class Target:
    project_id: uuid.UUID
    workflow_id: uuid.UUID
    trigger_id: uuid.UUID
    snapshot_id: uuid.UUID


def seed(url: str) -> tuple[Target, uuid.UUID]:
    """A workflow at head, then the schema taken back to BEFORE and RUNS finished runs
    (work order, dataclip, run, step each) written by SQL."""
    migrate.upgrade(url)
    engine = create_engine(url)
    with Session(engine, expire_on_commit=False) as session:
        project = factories.make_project(session, owner=factories.make_user(session))
        workflow = factories.make_workflow(session, project, jobs=["a"])
        snapshot = (
            session.connection()
            .execute(
                text("SELECT id FROM workflow_snapshots WHERE workflow_id = :w"),
                {"w": workflow.id},
            )
            .scalar_one()
        )
    target = Target(project.id, workflow.id, workflow.triggers[0].id, snapshot)
    migrate.downgrade(url, BEFORE)
    ids = {
        "p": target.project_id,
        "w": target.workflow_id,
        "t": target.trigger_id,
        "s": target.snapshot_id,
        "j": workflow.jobs[0].id,
        "n": RUNS,
        "prio": int(WEBHOOK_PRIORITY),
    }
    rows = "FROM generate_series(1, :n) g, LATERAL (SELECT now() - g * interval '1 s' AS t) x"
    with engine.begin() as conn:
        for statement in (
            "INSERT INTO dataclips (id, project_id, type, body, inserted_at, updated_at) "
            "SELECT md5('c' || g)::uuid, :p, 'http_request', jsonb_build_object('n', g), t, t ",
            "INSERT INTO work_orders (id, project_id, workflow_id, trigger_id, snapshot_id, "
            "dataclip_id, state, last_activity, inserted_at, updated_at) "
            "SELECT md5('w' || g)::uuid, :p, :w, :t, :s, md5('c' || g)::uuid, 'success', t, t, t ",
            "INSERT INTO runs (id, work_order_id, snapshot_id, starting_trigger_id, dataclip_id, "
            "state, priority, worker_name, claimed_at, started_at, finished_at, inserted_at) "
            "SELECT md5('r' || g)::uuid, md5('w' || g)::uuid, :s, :t, md5('c' || g)::uuid, "
            "'success', :prio, 'old-worker', t, t, t, t ",
            "INSERT INTO steps (id, run_id, job_id, exit_reason, started_at, finished_at, "
            "inserted_at) SELECT md5('s' || g)::uuid, md5('r' || g)::uuid, :j, 'success', t, t, t ",
        ):
            conn.execute(text(statement + rows), ids)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()
    return target, workflow.id


class Webhooks:
    """Webhooks at a fixed rate through the intake's own write path (the transaction a 200
    waits for), each timed from when it was due. The API of this release cannot serve on
    the old schema; during a real upgrade the previous release's API does, with the same
    three inserts."""

    def __init__(self, url: str, target: Target) -> None:
        self.engine = create_engine(url, pool_size=8)
        self.target = target
        self.waits: list[float] = []
        self.failures: list[str] = []
        self.stored: list[uuid.UUID] = []
        self._local = threading.local()
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=8)
        self._clock = threading.Thread(target=self._tick, daemon=True)

    def __enter__(self) -> Webhooks:
        self._clock.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._clock.join()
        self._pool.shutdown(wait=True)
        for writer in getattr(self, "_writers", []):
            writer.close()
        self.engine.dispose()

    def _tick(self) -> None:
        due = time.monotonic()
        n = 0
        while not self._stop.is_set():
            n += 1
            self._pool.submit(self._post, n, due)
            due += 1 / RATE
            time.sleep(max(0.0, due - time.monotonic()))

    def _post(self, n: int, due: float) -> None:
        writer = getattr(self._local, "writer", None)
        if writer is None:
            writer = self._local.writer = intake_batch.BatchWriter()
            self._writers = [*getattr(self, "_writers", []), writer]
        payload = json.dumps({"n": n}).encode()
        row = intake_batch.Row(self.target, Body(json=payload, size=len(payload)), {"n": n})
        intake_batch.assign_ids([row])
        try:
            writer.write(self.engine, [row])
        except Exception as exc:
            self.failures.append(repr(exc))
            return
        self.waits.append(time.monotonic() - due)
        self.stored.append(row.run_id)


def waited_on(engine: Engine, table: str, upgrade: subprocess.Popen[str]) -> None:
    """Return once some session waits for a lock on `table` (the upgrade's ALTER TABLE)."""
    deadline = time.monotonic() + 120
    with engine.connect() as conn:
        while time.monotonic() < deadline and upgrade.poll() is None:
            waiting = conn.execute(
                text(
                    "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                    "WHERE c.relname = :table AND NOT l.granted"
                ),
                {"table": table},
            ).scalar_one()
            conn.rollback()
            if waiting:
                return
            time.sleep(0.02)
    raise AssertionError(f"the upgrade never waited for {table} (exit {upgrade.poll()})")


def test_db_upgrade_of_100k_runs_under_webhook_load_never_blocks_intake(tmp_path: Path) -> None:
    with scratch_database(tmp_path) as url:
        target, _ = seed(url)
        engine = create_engine(url)
        env = {**os.environ, "LIGHTNING_DATABASE_URL": url}
        with Webhooks(url, target) as hooks:
            time.sleep(2)  # steady load first
            # A report left open on workflows: the first ALTER TABLE of the upgrade would
            # queue every webhook behind it; with lock_timeout it steps back and retries.
            reader = engine.connect()
            reader.execute(text("SELECT count(*) FROM workflows"))
            started = time.monotonic()
            upgrade = subprocess.Popen(
                [*CLI, "db", "upgrade"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            waited_on(engine, "workflows", upgrade)
            time.sleep(READER_HOLDS)  # the migration steps back and retries meanwhile
            reader.rollback()
            reader.close()
            output, _ = upgrade.communicate(timeout=300)
            took = time.monotonic() - started
            time.sleep(2)  # and after
        assert upgrade.returncode == 0, output
        assert "retrying" in output, "the upgrade met the open transaction and stepped back"
        assert "Database is up to date" in output

        assert hooks.failures == []
        assert len(hooks.waits) >= RATE * (took + 3)
        slowest = max(hooks.waits)
        assert slowest < BOUND, f"a webhook waited {slowest:.2f}s during the upgrade"
        with engine.connect() as conn:
            heads = {r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))}
            stored = conn.execute(text("SELECT count(*) FROM runs")).scalar_one()
            valid = conn.execute(
                text(
                    "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                    "WHERE c.relname = 'ix_runs_worker_name_state'"
                )
            ).scalar_one()
            attempts = conn.execute(text("SELECT DISTINCT attempt FROM steps")).scalars().all()
        assert heads == set(ScriptDirectory.from_config(migrate.alembic_config(url)).get_heads())
        assert stored == RUNS + len(hooks.stored), "every acknowledged webhook was stored"
        assert valid is True
        assert attempts == [1]
        engine.dispose()
