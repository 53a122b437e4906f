"""The process-wide Node pool and adaptor repository, configured from settings."""

from __future__ import annotations

import threading
from functools import lru_cache

from adaptor_tasks import AdaptorRef, NodePool
from adaptor_tasks.repository import AdaptorRepository
from lightning_flows.core.config import get_settings

_lock = threading.Lock()
_pool: NodePool | None = None


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
        return _pool


def close_pool() -> None:
    global _pool
    with _lock:
        if _pool is not None:
            _pool.close()
        _pool = None


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
