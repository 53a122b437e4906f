"""Starting the platform's commands as subprocesses, and watching their process trees."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from lightning_flows.topology.processes import descendants

CLI = [sys.executable, "-c", "from lightning_flows.cli.main import app; app()"]


@contextmanager
def process(
    argv: list[str], env: Mapping[str, str] | None = None, **popen: object
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `argv` in its own process group; whatever is left of the group is killed at exit."""
    proc = subprocess.Popen(argv, env=dict(env or os.environ), start_new_session=True, **popen)  # type: ignore[call-overload]
    try:
        yield proc
    finally:
        for pid in [proc.pid, *descendants(proc.pid)]:
            kill_group_and_process(pid)
        proc.wait()


def kill_group_and_process(pid: int) -> None:
    for kill in (os.killpg, os.kill):
        with suppress(ProcessLookupError, PermissionError):
            kill(pid, signal.SIGKILL)


def wait_healthy(
    url: str, timeout: float = 60, proc: subprocess.Popen[bytes] | None = None
) -> None:
    """Wait until `{url}/health` answers 200 (fail early if `proc` exits)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the process exited with {proc.returncode} before answering")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout:.0f}s")


def alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@contextmanager
def scratch_database(tmp_path: Path) -> Iterator[str]:
    """A database for a platform subprocess: a fresh PostgreSQL database (created, then
    dropped) when LIGHTNING_TEST_DATABASE_URL is set, else SQLite under `tmp_path`."""
    server_url = os.environ.get("LIGHTNING_TEST_DATABASE_URL")
    if not server_url:
        yield f"sqlite:///{tmp_path / 'lightning.db'}"
        return
    name = f"lf_proc_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def platform_environment(tmp_path: Path, **settings: str) -> Iterator[dict[str, str]]:
    """The environment of a platform subprocess (`up`) of its own: data dir, database
    (`scratch_database`), free ports, an embedded Prefect server; `settings` adds or
    overrides variables (e.g. `LIGHTNING_SHUTDOWN_GRACE_SECONDS="5"`)."""
    from lightning_flows.engine.prefect.server import free_port

    with scratch_database(tmp_path) as database_url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
        env.update(
            {
                "LIGHTNING_DATA_DIR": str(tmp_path / "data"),
                "LIGHTNING_DATABASE_URL": database_url,
                "LIGHTNING_PORT": str(free_port()),
                "LIGHTNING_PREFECT_PORT": str(free_port()),
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                **settings,
            }
        )
        yield env
