"""Test harness: one migrated database per session, emptied after every test.

SQLite by default; PostgreSQL when LIGHTNING_TEST_DATABASE_URL points at a
server (a fresh database is created on it and dropped at the end). A Prefect
server is started once per session, only when a test asks for it.
"""

from __future__ import annotations

import os
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Settings and Prefect read the environment on first use: fix it before any import.
_TMP = Path(tempfile.mkdtemp(prefix="lightning-tests-"))
_PREFECT_PORT = _free_port()
os.environ.update(
    {
        "LIGHTNING_ENV": "test",
        "LIGHTNING_DATA_DIR": str(_TMP / "data"),
        "LIGHTNING_ENCRYPTION_KEY": "qWlVLzBmHZsIqfcIiJ0yO5IDBwZrHAwU8hVgQm4f0Jg=",
        "LIGHTNING_PREFECT_SYNC": "false",
        "PREFECT_HOME": str(_TMP / "prefect"),
        "PREFECT_API_URL": f"http://127.0.0.1:{_PREFECT_PORT}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
)

import pytest  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlmodel import Session  # noqa: E402

from lightning_flows.core import migrate  # noqa: E402
from lightning_flows.core.config import reset_settings  # noqa: E402
from lightning_flows.core.db import get_engine  # noqa: E402
from lightning_flows.models import metadata  # noqa: E402
from tests import factories  # noqa: E402


def _fresh_postgres(server_url: str) -> tuple[str, str]:
    name = f"lf_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return str(make_url(server_url).set(database=name).render_as_string(False)), name


@pytest.fixture(scope="session", autouse=True)
def database_url() -> Iterator[str]:
    """Create and migrate the session's database."""
    server_url = os.environ.get("LIGHTNING_TEST_DATABASE_URL")
    dbname = None
    if server_url:
        url, dbname = _fresh_postgres(server_url)
    else:
        url = f"sqlite:///{_TMP / 'test.db'}"
    os.environ["LIGHTNING_DATABASE_URL"] = url
    reset_settings()
    migrate.upgrade(url)
    yield url
    reset_settings()
    if server_url and dbname:
        admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(autouse=True)
def _empty_database_after_test(database_url: str) -> Iterator[None]:
    """Isolation: every test starts from empty tables (works across processes too)."""
    yield
    with get_engine().begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    with Session(get_engine(), expire_on_commit=False) as session:
        yield session


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    from lightning_flows.api.app import create_app

    with TestClient(create_app()) as test_client:
        yield test_client


@pytest.fixture
def user(session: Session) -> factories.User:
    return factories.make_user(session)


@pytest.fixture
def auth(session: Session, user: factories.User) -> dict[str, str]:
    """Authorization headers for `user`."""
    return factories.auth_headers(session, user)


@pytest.fixture
def project(session: Session, user: factories.User) -> factories.Project:
    return factories.make_project(session, owner=user)


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[str]:
    """One Prefect server for the whole session (starting one costs ~15 s)."""
    from lightning_flows.engine.prefect.server import start_prefect_server

    server = start_prefect_server(_TMP / "prefect", port=_PREFECT_PORT)
    try:
        yield server.api_url
    finally:
        from prefect.logging.handlers import APILogWorker

        APILogWorker.drain_all(timeout=5)
        server.stop()


@pytest.fixture(scope="session", autouse=True)
def _close_node_pool() -> Iterator[None]:
    yield
    from lightning_flows.core.node_runtime import close_pool

    close_pool()


@pytest.fixture
def worker(prefect_server: str) -> Iterator[object]:
    """A worker serving in a background thread for the test's duration."""
    import threading

    from lightning_flows.engine.worker import Worker

    w = Worker(concurrency=2, prefect_poll_interval=0.3)
    thread = threading.Thread(target=w.serve, daemon=True)
    thread.start()
    yield w
    w.stop()
    thread.join(timeout=60)
