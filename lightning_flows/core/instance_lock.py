"""One `lightning-flows up` per data directory.

`up` holds an exclusive `flock` on `<data_dir>/up.lock` for its whole life and
writes its pid, URL and start time into the file. The kernel releases the lock
when the last descriptor of it closes, even after `kill -9`. The embedded
Prefect server inherits the descriptor, so the lock is held until it has gone
too: two Prefect servers never share one Prefect database.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

LOCK_NAME = "up.lock"


class AlreadyRunning(Exception):
    """Another process holds the data directory's lock."""

    def __init__(self, path: Path, holder: dict[str, Any]) -> None:
        self.path = path
        self.holder = holder
        super().__init__(self.message())

    def message(self) -> str:
        pid = self.holder.get("pid")
        details = ", ".join(
            str(value)
            for value in (
                f"pid {pid}" if pid else None,
                self.holder.get("url"),
                f"since {self.holder['started_at']}" if self.holder.get("started_at") else None,
            )
            if value
        )
        text = "Lightning Flows is already running on this data directory"
        text += f" ({details})" if details else ""
        if isinstance(pid, int) and not process_exists(pid):
            return (
                f"{text}; that process has exited but its Prefect server is still stopping."
                " Try again in a moment."
            )
        return f"{text}. Stop it first."


@dataclass
class InstanceLock:
    """The held lock; `fd` stays open (and locked) until `release()` or process exit."""

    path: Path
    fd: int

    def record(self, url: str) -> None:
        """Write who holds the lock, for the message a second `up` prints."""
        holder = {
            "pid": os.getpid(),
            "url": url,
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, (json.dumps(holder) + "\n").encode(), 0)

    def release(self) -> None:
        if self.fd >= 0:
            os.ftruncate(self.fd, 0)
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = -1


def acquire(data_dir: Path) -> InstanceLock:
    """Lock `data_dir` for this process, or raise `AlreadyRunning` naming the holder."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _read(fd)
        os.close(fd)
        raise AlreadyRunning(path, holder) from None
    except BaseException:
        os.close(fd)
        raise
    return InstanceLock(path, fd)


def _read(fd: int) -> dict[str, Any]:
    try:
        data = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except ValueError:  # the holder has not written it yet
        return {}
    return data if isinstance(data, dict) else {}


def process_exists(pid: int) -> bool:
    """Whether a process of that id exists (it may be another user's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
