"""Run the platform's Alembic migrations (`lightning-flows db upgrade`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from lightning_flows.core.config import get_settings

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config pointing at the packaged migrations and the given database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option(
        "sqlalchemy.url", (url or get_settings().resolved_database_url).replace("%", "%%")
    )
    return config


def upgrade(url: str | None = None, revision: str = "heads") -> None:
    """Bring the database up to `revision` (creating the SQLite file if needed)."""
    settings = get_settings()
    if (url or settings.resolved_database_url).startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)
