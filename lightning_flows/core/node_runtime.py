"""The process-wide Node pool and adaptor repository, configured from settings."""

from __future__ import annotations

import threading
import weakref
from functools import lru_cache

from adaptor_tasks import AdaptorRef, NodePool
from adaptor_tasks.repository import AdaptorRepository
from lightning_flows.core.config import get_settings

_lock = threading.Lock()
_pool: NodePool | None = None
_limited: dict[int, NodePool] = {}
"""Pools whose processes have a project's lower heap limit, one per limit (started lazily)."""
_started: weakref.WeakSet[NodePool] = weakref.WeakSet()
"""Every pool started, closed ones too: `shutdown_pool()` ends their busy processes."""


def _new_pool(memory_limit_mb: int) -> NodePool:
    settings = get_settings()
    pool = NodePool(
        settings.node_pool_size,
        step_timeout_s=settings.step_timeout_seconds,
        memory_limit_mb=memory_limit_mb,
        state_limit_bytes=settings.state_limit_bytes,
    )
    _started.add(pool)
    return pool


def get_pool(memory_limit_mb: int | None = None) -> NodePool:
    """The Node process pool that executes steps (started on first use).

    `memory_limit_mb` below the instance's limit (a project's own) selects a pool whose
    processes run with that heap limit: V8 fixes a process's heap limit at start, so a
    lower limit needs processes of its own.
    """
    global _pool
    instance_limit = get_settings().step_memory_limit_mb
    with _lock:
        if memory_limit_mb is not None and memory_limit_mb < instance_limit:
            pool = _limited.get(memory_limit_mb)
            if pool is None:
                pool = _limited[memory_limit_mb] = _new_pool(memory_limit_mb)
            return pool
        if _pool is None:
            _pool = _new_pool(instance_limit)
        return _pool


def close_pool() -> None:
    """Stop idle Node processes now and busy ones when their step ends."""
    global _pool
    with _lock:
        pools = [p for p in (_pool, *_limited.values()) if p is not None]
        _pool = None
        _limited.clear()
    for pool in pools:
        pool.close()


def shutdown_pool() -> None:
    """Stop every Node process now, busy ones too (their steps end with a WorkerError).

    For stopping the process: `close_pool()` would leave a step that outlives the grace
    period running (and the interpreter waiting for its thread).
    """
    global _pool
    with _lock:
        pools, _pool = list(_started), None
        _limited.clear()
    for pool in pools:  # closed ones too: close_pool() leaves their busy processes
        pool.kill_all()


@lru_cache
def get_repository() -> AdaptorRepository:
    return AdaptorRepository(get_settings().adaptor_cache_dir)


_refs: dict[str, AdaptorRef] = {}


def installed_adaptor(specifier: str) -> AdaptorRef:
    """Resolve (`@latest` -> a version) and install an adaptor; cached per specifier."""
    ref = _refs.get(specifier)
    if ref is None:
        repository = get_repository()
        ref = repository.resolve(specifier)
        repository.ensure_installed(ref)
        if not specifier.endswith("@latest"):
            _refs[specifier] = ref
    return ref
