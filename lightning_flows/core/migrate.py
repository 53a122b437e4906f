"""Run the platform's Alembic migrations (`lightning-flows db upgrade`).

On PostgreSQL an upgrade is safe to run against a live instance: one migration per
transaction, one migrator at a time (an advisory lock), and every lock wait bounded by
`lock_timeout`; a migration that could not get its lock in time is rolled back and the
upgrade retried after a pause, so webhooks never queue for long behind it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.exc import OperationalError

from lightning_flows.core.config import get_settings

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
DEFAULT_LOCK_TIMEOUT_SECONDS = 1.0
MAX_ATTEMPTS = 60
_LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's lock_timeout error
log = logging.getLogger(__name__)


def alembic_config(
    url: str | None = None, lock_timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS
) -> Config:
    """An Alembic config pointing at the packaged migrations and the given database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option(
        "sqlalchemy.url", (url or get_settings().resolved_database_url).replace("%", "%%")
    )
    config.attributes["lock_timeout_ms"] = max(1, round(lock_timeout * 1000))
    return config


def upgrade(
    url: str | None = None,
    revision: str = "heads",
    *,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS,
    on_retry: Callable[[int, str], None] | None = None,
) -> int:
    """Bring the database up to `revision` (creating the SQLite file if needed); returns
    how many times a migration gave up waiting for a lock and was retried."""
    settings = get_settings()
    if (url or settings.resolved_database_url).startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    config = alembic_config(url, lock_timeout)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            command.upgrade(config, revision)
            return attempt - 1
        except OperationalError as exc:
            if (
                getattr(exc.orig, "sqlstate", None) != _LOCK_NOT_AVAILABLE
                or attempt == MAX_ATTEMPTS
            ):
                raise
            reason = str(exc.orig).splitlines()[0]
            log.warning("migration waited too long for a lock (%s); retrying", reason)
            if on_retry is not None:
                on_retry(attempt, reason)
            time.sleep(min(0.25 * attempt, 5.0))
    raise AssertionError("unreachable")  # pragma: no cover


def downgrade(url: str | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)
