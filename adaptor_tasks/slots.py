"""Worker slots: who may use which Node process, and replacing processes that went bad."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from adaptor_tasks.errors import PoolClosedError, WorkerError
from adaptor_tasks.process import NodeProcess

log = logging.getLogger(__name__)


class _Slot:
    """A place for one worker process; the process starts on first use."""

    def __init__(self) -> None:
        self.process: NodeProcess | None = None
        self.respawn = False


class WorkerSlots:
    """``size`` slots handed out one caller at a time; callers wait for a free one."""

    def __init__(self, size: int, spawn: Callable[[], NodeProcess]) -> None:
        self._spawn = spawn
        self._closed = False
        self._slots = [_Slot() for _ in range(size)]
        # LIFO: the most recently used (warmest) process is reused first.
        self._free: queue.LifoQueue[_Slot] = queue.LifoQueue()
        for slot in self._slots:
            self._free.put(slot)

    @property
    def closed(self) -> bool:
        """True once close() was called."""
        return self._closed

    @contextmanager
    def checkout(self) -> Iterator[NodeProcess]:
        """A started process for the caller's exclusive use until the block ends."""
        if self._closed:
            raise PoolClosedError("the node pool is closed")
        slot = self._free.get()
        try:
            if self._closed:
                raise PoolClosedError("the node pool is closed")
            if slot.process is None:
                slot.process = self._spawn()
            yield slot.process
        finally:
            self._release(slot)

    def replace(self, process: NodeProcess) -> None:
        """Kill ``process`` now; its slot gets a fresh worker once the caller releases it."""
        for slot in self._slots:
            if slot.process is process:
                self._retire(slot)
                slot.respawn = True

    def warm_up(self) -> None:
        """Start every idle slot's process now (in parallel) instead of on first use."""
        idle: list[_Slot] = []
        while True:
            try:
                idle.append(self._free.get_nowait())
            except queue.Empty:
                break
        with ThreadPoolExecutor(max_workers=max(1, len(idle))) as executor:
            for slot in idle:
                executor.submit(self._start_and_release, slot)

    def close(self) -> None:
        """Stop idle processes now and busy ones when their caller releases them."""
        self._closed = True
        while True:
            try:
                slot = self._free.get_nowait()
            except queue.Empty:
                break
            self._retire(slot)

    def busy_pids(self) -> list[int]:
        """Process ids of the processes in use now (for `NodePool.kill_all`)."""
        return [slot.process.pid for slot in self._slots if slot.process and slot.process.pid]

    def _release(self, slot: _Slot) -> None:
        if self._closed:
            self._retire(slot)
        elif slot.respawn:
            # Start the replacement off the caller's thread; the slot is free once it is up.
            slot.respawn = False
            threading.Thread(
                target=self._start_and_release, args=(slot,), name="node-respawn", daemon=True
            ).start()
            return
        self._free.put(slot)

    def _start_and_release(self, slot: _Slot) -> None:
        try:
            if slot.process is None and not self._closed:
                slot.process = self._spawn()
        except WorkerError as exc:
            log.warning("could not start a node worker (will retry on next use): %s", exc)
        finally:
            if self._closed:
                self._retire(slot)
            self._free.put(slot)

    @staticmethod
    def _retire(slot: _Slot) -> None:
        if slot.process is not None:
            slot.process.kill()
            slot.process = None
