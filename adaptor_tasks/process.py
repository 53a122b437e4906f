"""One long-lived Node worker process and its JSON-lines protocol channel.

Requests go to the worker's stdin; answers come back on a dedicated pipe
(``--protocol-fd``), so whatever a job or adaptor prints to stdout/stderr can
never be mistaken for a protocol message. stdout/stderr are drained into a
short tail kept for crash diagnostics.
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import os
import select
import subprocess  # nosec B404
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from adaptor_tasks.errors import WorkerError

log = logging.getLogger(__name__)

_READ_CHUNK = 1 << 20
_TAIL_LINES = 200


class ChannelTimeout(Exception):
    """No complete message arrived before the deadline."""


class ChannelClosed(Exception):
    """The worker closed its end of the channel (it exited)."""


class NodeProcess:
    """A running ``worker.mjs``; not thread-safe (the pool gives it to one caller at a time)."""

    def __init__(self, argv: Sequence[str], cwd: Path, env: Mapping[str, str]) -> None:
        self._argv = list(argv)
        self._cwd = cwd
        self._env = dict(env)
        self._proc: subprocess.Popen[bytes] | None = None
        self._stdin: IO[bytes] | None = None
        self._read_fd = -1
        self._buffer = bytearray()
        self._scan_from = 0
        self._tail: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)
        self._drain: threading.Thread | None = None
        self.steps_run = 0

    @property
    def pid(self) -> int | None:
        """OS process id, None before start."""
        return self._proc.pid if self._proc else None

    def start(self, timeout_s: float) -> dict[str, Any]:
        """Spawn the worker and wait for its ``ready`` message."""
        read_fd, write_fd = os.pipe()
        try:
            self._proc = subprocess.Popen(  # nosec B603
                # The parent's pid, so the worker's orphan watchdog knows whom to outlive
                # even if the parent dies while the worker is still starting.
                [*self._argv, f"--protocol-fd={write_fd}", f"--parent-pid={os.getpid()}"],
                cwd=self._cwd,
                env=self._env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                pass_fds=(write_fd,),
                start_new_session=True,
            )
        except OSError as exc:
            os.close(read_fd)
            raise WorkerError(f"cannot start node worker: {exc}") from exc
        finally:
            os.close(write_fd)
        self._read_fd = read_fd
        self._stdin = self._proc.stdin
        self._drain = threading.Thread(
            target=self._drain_output, name=f"node-{self._proc.pid}-output", daemon=True
        )
        self._drain.start()
        try:
            ready = self.read_message(time.monotonic() + timeout_s)
        except (ChannelTimeout, ChannelClosed) as exc:
            self.kill()
            raise WorkerError(f"node worker did not start: {self.output_tail() or exc!r}") from exc
        if ready.get("type") != "ready":
            self.kill()
            raise WorkerError(f"unexpected first message from node worker: {ready!r}")
        return ready

    def _drain_output(self) -> None:
        proc = self._proc
        if proc is None or proc.stdout is None:
            return
        pid = proc.pid
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self._tail.append(line)
            log.debug("node[%s]: %s", pid, line)

    def output_tail(self, lines: int = 20) -> str:
        """Last lines the worker wrote to stdout/stderr (crash messages land here)."""
        return "\n".join(list(self._tail)[-lines:])

    def send(self, message: Mapping[str, Any]) -> None:
        """Write one request line; raises ChannelClosed if the worker is gone."""
        if self._stdin is None:
            raise ChannelClosed("worker not started")
        data = (
            json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode("utf-8") + b"\n"
        )
        try:
            self._stdin.write(data)
            self._stdin.flush()
        except (BrokenPipeError, ValueError, OSError) as exc:
            raise ChannelClosed(str(exc)) from exc

    def read_message(self, deadline: float) -> dict[str, Any]:
        """Next message; ChannelTimeout at ``deadline`` (monotonic), ChannelClosed on EOF."""
        while True:
            newline = self._buffer.find(b"\n", self._scan_from)
            if newline >= 0:
                line = bytes(self._buffer[:newline])
                del self._buffer[: newline + 1]
                self._scan_from = 0
                if line.strip():
                    return dict(json.loads(line))
                continue
            self._scan_from = len(self._buffer)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ChannelTimeout()
            readable, _, _ = select.select([self._read_fd], [], [], remaining)
            if not readable:
                raise ChannelTimeout()
            chunk = os.read(self._read_fd, _READ_CHUNK)
            if not chunk:
                raise ChannelClosed("worker closed the protocol channel")
            self._buffer += chunk

    def wait_exit(self, timeout_s: float) -> int | None:
        """Exit code once the process ended (negative: killed by that signal), else None."""
        if self._proc is None:
            return None
        try:
            code = self._proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None
        if self._drain is not None:
            self._drain.join(timeout=1.0)
        return code

    def kill(self) -> None:
        """Kill the worker (and anything it spawned) and release its pipes."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, 9)
            except ProcessLookupError:
                pass
            except PermissionError:
                proc.kill()
        if proc is not None:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                log.warning("node worker %s did not exit after SIGKILL", proc.pid)
            if self._stdin is not None:
                with contextlib.suppress(OSError):
                    self._stdin.close()
        if self._read_fd >= 0:
            os.close(self._read_fd)
            self._read_fd = -1
        self._stdin = None
