"""Platform settings, read from `LIGHTNING_*` environment variables.

Everything has an embedded default that needs nothing installed: a data
directory holding a SQLite database, a generated development encryption key,
the embedded Prefect server's database and the adaptor cache.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """All configuration of a Lightning Flows instance."""

    model_config = SettingsConfigDict(env_prefix="LIGHTNING_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path(".lightning")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; defaults to SQLite under the data dir."
    )
    encryption_key: str | None = Field(
        default=None, description="Base64 of 32 bytes: the primary AES-256-GCM key."
    )
    encryption_old_keys: str = Field(
        default="", description="Comma-separated base64 keys still accepted for decryption."
    )
    host: str = "127.0.0.1"
    port: int = 4000
    base_url: str | None = Field(default=None, description="Public URL, for links.")
    prefect_port: int = Field(default=0, description="Embedded Prefect server port; 0 = free port.")
    prefect_sync: bool = Field(
        default=True, description="Keep a Prefect deployment per workflow, updated on every save."
    )
    worker_concurrency: int = Field(default=4, ge=1)
    node_pool_size: int = Field(default_factory=lambda: os.cpu_count() or 2, ge=1)
    step_timeout_seconds: float = Field(default=300.0, gt=0)
    step_memory_limit_mb: int = Field(default=500, ge=32)
    state_limit_bytes: int = Field(default=10_000_000, ge=1024)
    page_size_max: int = 100
    webhook_max_body_bytes: int = Field(default=10_000_000, ge=1024)
    api_max_body_bytes: int = Field(
        default=10_000_000, ge=1024, description="Larger API/page request bodies get 413."
    )
    json_max_depth: int = Field(
        default=256, ge=8, le=1000, description="Deeper JSON (bodies, webhooks) gets 422."
    )
    workflow_max_jobs: int = Field(
        default=1000, ge=1, description="Workflows with more jobs are refused with 422."
    )
    webhook_reply_timeout_seconds: float = Field(default=30.0, gt=0)
    webhook_rate_limit_per_second: float = Field(
        default=0.0, ge=0, description="Per trigger and API process; 0 = unlimited."
    )
    webhook_rate_limit_burst: int = Field(default=50, ge=1)
    max_run_duration_seconds: float = Field(
        default=900.0, gt=0, description="A run claimed longer than this (plus grace) is lost."
    )
    lost_run_grace_seconds: float = Field(default=60.0, ge=0)
    lost_run_sweep_seconds: float = Field(default=10.0, gt=0, description="How often workers look.")
    prefect_work_pool: str = Field(
        default="lightning-flows", description="Prefect work pool of the workflows' deployments."
    )
    worker_heartbeat_seconds: float = Field(
        default=5.0, gt=0, description="How often a worker reports that it is alive."
    )
    worker_dead_after_seconds: float = Field(
        default=30.0,
        gt=0,
        description="A worker silent this long is dead; its runs are taken over.",
    )
    project_run_limit_per_month: int | None = Field(
        default=None, ge=1, description="Runs a project may start per calendar month (UTC)."
    )
    project_max_concurrent_runs: int | None = Field(
        default=None, ge=1, description="Runs of one project executing at once."
    )
    retention_schedule: str = Field(
        default="*/15 * * * *", description="Cron schedule of the retention maintenance flow."
    )
    retention_batch_size: int = Field(
        default=500, ge=1, description="Work orders (or dataclips) deleted per transaction."
    )
    shutdown_grace_seconds: float = Field(
        default=30.0, ge=0, description="On SIGTERM, how long in-flight steps may finish."
    )
    # Collections (key/value stores jobs reach with @openfn/language-collections)
    collections_url: str | None = Field(
        default=None,
        description="The collections API as jobs reach it; default <public URL>/collections.",
    )
    collections_token_margin_seconds: float = Field(
        default=300.0,
        ge=0,
        description="A step's collections token outlives its time limit by this.",
    )
    collection_value_max_bytes: int = Field(
        default=1_000_000, ge=1, description="Larger item values are refused (Lightning's cap)."
    )
    collection_page_max: int = Field(
        default=1000, ge=1, description="Most items one collections API request returns."
    )
    # Accounts and security
    allow_registration: bool = Field(
        default=True, description="Self-registration default; a superuser can change it live."
    )
    session_ttl_hours: float = Field(default=24.0, gt=0, description="UI session lifetime.")
    cookie_secure: bool | None = Field(
        default=None, description="Secure cookies; default on in production or behind https."
    )
    login_max_failures: int = Field(default=5, ge=1, description="Failures before lockout.")
    login_lockout_minutes: float = Field(default=15.0, gt=0)
    password_reset_ttl_minutes: float = Field(default=60.0, gt=0)
    oauth_refresh_margin_seconds: float = Field(
        default=300.0, ge=0, description="Refresh OAuth tokens expiring within this margin."
    )
    smtp_host: str | None = Field(default=None, description="Outgoing mail server; unset = off.")
    smtp_port: int = 25
    smtp_security: Literal["none", "starttls", "ssl"] = "none"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    mail_from: str = "Lightning Flows <no-reply@localhost>"
    # Failure alerts (notifications/)
    alert_max_per_window: int = Field(
        default=3, ge=1, description="Failure mails per workflow and recipient per window."
    )
    alert_window_seconds: float = Field(
        default=3600.0, gt=0, description="The throttle window; a summary mail ends it."
    )
    alert_poll_seconds: float = Field(
        default=1.0, gt=0, description="How often a worker sends the alerts waiting."
    )
    alert_webhook_attempts: int = Field(default=3, ge=1, le=10)
    alert_webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    digest_schedule: str = Field(
        default="0 6 * * *", description="Cron schedule of the digest maintenance flow (UTC)."
    )
    # Projects as code
    git_sync_allow_local_remotes: bool = Field(
        default=False, description="Allow git sync to local paths/file:// remotes (tests, demos)."
    )
    git_timeout_seconds: float = Field(default=120.0, gt=0, description="Per git command.")

    @property
    def resolved_database_url(self) -> str:
        """The database URL in effect (SQLite under the data dir unless configured)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir.resolve() / 'lightning.db'}"

    @property
    def adaptor_cache_dir(self) -> Path:
        return self.data_dir.resolve() / "adaptors"

    @property
    def prefect_home(self) -> Path:
        return self.data_dir.resolve() / "prefect"

    @property
    def secure_cookies(self) -> bool:
        """Whether cookies carry the Secure flag (always in production)."""
        if self.cookie_secure is not None and self.env != "production":
            return self.cookie_secure
        return self.env == "production" or self.public_url.startswith("https://")

    @property
    def public_url(self) -> str:
        return (self.base_url or f"http://{self.host}:{self.port}").rstrip("/")


@lru_cache
def get_settings() -> Settings:
    """The settings, read once from the environment (tests call `reset_settings`)."""
    return Settings()


def reset_settings() -> None:
    """Forget cached settings and everything derived from them (tests, CLI options)."""
    get_settings.cache_clear()
    from lightning_flows.core import crypto, db

    db.reset_engine()
    crypto.reset_cipher()
