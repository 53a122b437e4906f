"""Process trees from /proc: a host's process and everything it started."""

from __future__ import annotations

import os
import signal
from contextlib import suppress
from pathlib import Path


def children(pid: int) -> list[int]:
    """Direct children of `pid` (empty once it is gone)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(child) for child in task.read_text().split()]
        except OSError:
            continue
    return found


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, children first."""
    found: list[int] = []
    todo = children(pid)
    while todo:
        child = todo.pop(0)
        if child not in found:
            found.append(child)
            todo += children(child)
    return found


def kill_tree(pid: int, known: list[int]) -> None:
    """SIGKILL `pid`'s process group, `pid`, and every process in `known` or below `pid`
    now (a child that started a session of its own is still found through /proc)."""
    for target in dict.fromkeys([pid, *known, *descendants(pid)]):
        for kill in (os.killpg, os.kill):
            with suppress(ProcessLookupError, PermissionError):
                kill(target, signal.SIGKILL)


def cpu_seconds(pids: list[int]) -> float:
    """CPU time (user + system, with reaped children) of the given processes."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            raw = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        total += sum(int(v) for v in fields[11:15]) / tick
    return total
