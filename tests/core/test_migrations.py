"""Migrations run up from empty (and back down) on the configured backend."""

from __future__ import annotations

import os
import uuid

from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from lightning_flows.core import migrate
from lightning_flows.models import metadata


def _scratch_url(tmp_path) -> tuple[str, str | None]:
    server = os.environ.get("LIGHTNING_TEST_DATABASE_URL")
    if not server:
        return f"sqlite:///{tmp_path / 'scratch.db'}", None
    name = f"lf_mig_{uuid.uuid4().hex[:8]}"
    with create_engine(server, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return make_url(server).set(database=name).render_as_string(False), name


def _drop(name: str | None) -> None:
    if name:
        server = os.environ["LIGHTNING_TEST_DATABASE_URL"]
        with create_engine(server, isolation_level="AUTOCOMMIT").connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_upgrade_from_empty_creates_every_table_then_downgrade_removes_them(tmp_path) -> None:
    url, name = _scratch_url(tmp_path)
    try:
        migrate.upgrade(url)
        engine = create_engine(url)
        tables = set(inspect(engine).get_table_names())
        assert set(metadata.tables) <= tables
        with engine.connect() as conn:
            applied = {r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))}
        assert applied == set(ScriptDirectory.from_config(migrate.alembic_config(url)).get_heads())
        if engine.dialect.name == "postgresql":
            indexes = {i["name"] for i in inspect(engine).get_indexes("log_lines")}
            assert "ix_log_lines_message_trgm" in indexes
        migrate.downgrade(url)
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        engine.dispose()
    finally:
        _drop(name)


def test_models_and_migrations_agree(database_url: str) -> None:
    """No model change is left without a migration."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = create_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    # Expression indexes created by hand on PostgreSQL are invisible to the models.
    diff = [d for d in diff if not (d[0] == "remove_index" and d[1].name.endswith("_trgm"))]
    assert diff == []
