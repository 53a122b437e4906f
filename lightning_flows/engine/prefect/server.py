"""The embedded Prefect server: a child process with its own SQLite database.

Used by `lightning-flows up` (unless `PREFECT_API_URL` names an existing server)
and by the test suite (one server for the whole session).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess  # nosec B404
import sys
import time
from collections.abc import Callable, Sequence
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
        """SIGTERM the server's process group, SIGKILL it after `timeout` seconds.

        The whole group: anything the server started goes too (it leads its own session).
        """
        if self.process.poll() is None:
            _signal_group(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(self.process.pid, signal.SIGKILL)
                self.process.wait()
            _signal_group(self.process.pid, signal.SIGKILL)  # stragglers, if any


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


PR_SET_PDEATHSIG = 1


def _die_with(parent_pid: int) -> Callable[[], None] | None:
    """A `preexec_fn` that has Linux SIGTERM the child when `parent_pid` dies (even `kill -9`).

    The kernel ties it to the thread that forked the child: start the server from a
    thread that lives as long as the process (`up` and the tests use the main thread).
    """
    if not sys.platform.startswith("linux"):
        return None

    prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved before the fork

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


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
    pass_fds: Sequence[int] = (),
) -> PrefectServer:
    """Start `prefect server start` and wait until its API answers.

    The server dies with this process, even on `kill -9` (Linux). `pass_fds` are
    inherited by the server (`up` passes its instance lock, held until the server exits).
    """
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
            pass_fds=tuple(pass_fds),
            preexec_fn=_die_with(os.getpid()),
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
