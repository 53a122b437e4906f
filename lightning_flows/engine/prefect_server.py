"""The embedded Prefect server: a child process with its own SQLite database.

Used by `lightning-flows up` (unless `PREFECT_API_URL` names an existing server)
and by the test suite (one server for the whole session).
"""

from __future__ import annotations

import os
import socket
import subprocess  # nosec B404
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class PrefectServer:
    """A running Prefect server child process."""

    api_url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    """What a client of this server needs in its environment."""

    @property
    def ui_url(self) -> str:
        return self.api_url.removesuffix("/api")

    def stop(self, timeout: float = 15) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def client_env(home: Path, api_url: str) -> dict[str, str]:
    """Environment for a client of a Prefect server living under `home`."""
    home.mkdir(parents=True, exist_ok=True)
    return {"PREFECT_HOME": str(home), "PREFECT_API_URL": api_url}


# Prefect stores task runs from the engine's events; its recorder writes one event per
# transaction by default. Batching them (flushed every second) roughly halves the Prefect
# server's CPU per run (benchmarks/prefect_floor.py); a task run shows up <= 1 s later.
# Whole seconds: the recorder truncates its interval to an int, and 0 makes it spin.
EVENT_BATCHING = {
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "200",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL": "1",
    "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_BATCH_SIZE": "200",
    "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_FLUSH_INTERVAL": "1",
}


def server_env(home: Path, api_url: str, database_url: str | None = None) -> dict[str, str]:
    """Environment of the server process itself (quiet, no analytics, batched events)."""
    return {
        **client_env(home, api_url),
        **EVENT_BATCHING,
        "PREFECT_SERVER_DATABASE_CONNECTION_URL": database_url
        or f"sqlite+aiosqlite:///{home / 'prefect.db'}",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
        "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }


def start_prefect_server(
    home: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    database_url: str | None = None,
    timeout: float = 90,
) -> PrefectServer:
    """Start `prefect server start` and wait until its API answers."""
    port = port or free_port(host)
    api_url = f"http://{host}:{port}/api"
    env = server_env(home, api_url, database_url)
    log_path = home / "server.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(  # nosec B603
            [
                sys.executable,
                "-m",
                "prefect",
                "server",
                "start",
                "--host",
                host,
                "--port",
                str(port),
            ],
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = PrefectServer(
        api_url=api_url, process=process, log_path=log_path, env=client_env(home, api_url)
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"Prefect server exited with {process.returncode}; see {log_path}:\n"
                + log_path.read_text()[-2000:]
            )
        try:
            if httpx.get(f"{api_url}/health", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    server.stop()
    raise RuntimeError(f"Prefect server did not answer within {timeout:.0f}s; see {log_path}.")
