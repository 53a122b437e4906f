"""Waking the worker when runs are created, instead of only polling for them.

On PostgreSQL the `runs` table notifies `lightning_runs` when rows are inserted
(migration 0006); the worker LISTENs and wakes at once. Polling stays as the
fallback (and is all there is on SQLite), so a lost connection or a missed
notification only costs latency, never a run.
"""

from __future__ import annotations

import contextlib
import logging
import threading

import psycopg

from lightning_flows.core.db import get_engine

CHANNEL = "lightning_runs"
log = logging.getLogger(__name__)


class RunSignal:
    """`wait(timeout)` returns early when runs were created (PostgreSQL) or on `stop()`."""

    def __init__(self) -> None:
        url = get_engine().url
        self._dsn = (
            url.set(drivername="postgresql").render_as_string(hide_password=False)
            if url.get_backend_name() == "postgresql"
            else None
        )
        self._conn: psycopg.Connection | None = None
        self._stopped = threading.Event()

    @property
    def listening(self) -> bool:
        """True when notifications can wake the worker (PostgreSQL)."""
        return self._dsn is not None

    def wait(self, timeout: float) -> None:
        if self._stopped.is_set():
            return
        conn = self._connection()
        if conn is None:
            self._stopped.wait(timeout)
            return
        try:
            for _ in conn.notifies(timeout=timeout, stop_after=1):
                pass
        except psycopg.Error:
            log.warning("lost the run notification connection; polling until it is back")
            self._close()
            self._stopped.wait(timeout)

    def stop(self) -> None:
        self._stopped.set()

    def close(self) -> None:
        self.stop()
        self._close()

    def _connection(self) -> psycopg.Connection | None:
        if self._dsn is None:
            return None
        if self._conn is None or self._conn.closed:
            try:
                self._conn = psycopg.connect(self._dsn, autocommit=True, connect_timeout=5)
                self._conn.execute(f"LISTEN {CHANNEL}")
            except psycopg.Error:
                log.warning("cannot LISTEN for new runs; polling instead", exc_info=True)
                self._conn = None
        return self._conn

    def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
        self._conn = None
