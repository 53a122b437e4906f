"""Alembic environment: migrates the database named by the platform settings.

Each migration commits on its own, so a lock taken by one is released before the next
starts; on PostgreSQL every lock wait is bounded (`lock_timeout`, retried by
`lightning_flows.core.migrate.upgrade`) and concurrent upgrades (several `up` replicas)
take turns on an advisory lock.
"""

from contextlib import suppress

from alembic import context

from lightning_flows.core.db import make_engine
from lightning_flows.models import metadata

config = context.config
MIGRATION_LOCK_KEY = 0x4C46_4D49_4752  # "LFMIGR": one migrator at a time


def run_migrations() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url is set by lightning_flows.core.migrate"  # noqa: S101
    engine = make_engine(url)
    postgresql = engine.dialect.name == "postgresql"
    try:
        with engine.connect() as connection:
            if postgresql:
                timeout = int(config.attributes.get("lock_timeout_ms", 1000))
                connection.exec_driver_sql(f"SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})")
                connection.exec_driver_sql(f"SET lock_timeout = {timeout}")
                connection.commit()
            context.configure(
                connection=connection,
                target_metadata=metadata,
                render_as_batch=True,
                compare_type=True,
                transaction_per_migration=True,
            )
            try:
                with context.begin_transaction():
                    context.run_migrations()
            finally:
                if postgresql:  # (closing the connection would release it too)
                    with suppress(Exception):
                        connection.rollback()
                        connection.exec_driver_sql(
                            f"SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"
                        )
                        connection.commit()
    finally:
        engine.dispose()


run_migrations()
