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
_started: weakref.WeakSet[NodePool] = weakref.WeakSet()
"""Every pool started, closed ones too: `shutdown_pool()` ends their busy processes."""


def get_pool() -> NodePool:
    """The Node process pool that executes steps (started on first use)."""
    global _pool
    with _lock:
        if _pool is None:
            settings = get_settings()
            _pool = NodePool(
                settings.node_pool_size,
                step_timeout_s=settings.step_timeout_seconds,
                memory_limit_mb=settings.step_memory_limit_mb,
                state_limit_bytes=settings.state_limit_bytes,
            )
            _started.add(_pool)
        return _pool


def close_pool() -> None:
    """Stop idle Node processes now and busy ones when their step ends."""
    global _pool
    with _lock:
        if _pool is not None:
            _pool.close()
        _pool = None


def shutdown_pool() -> None:
    """Stop every Node process now, busy ones too (their steps end with a WorkerError).

    For stopping the process: `close_pool()` would leave a step that outlives the grace
    period running (and the interpreter waiting for its thread).
    """
    global _pool
    with _lock:
        pools, _pool = list(_started), None
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
