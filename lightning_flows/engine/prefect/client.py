"""One shared synchronous Prefect client per process."""

from __future__ import annotations

import threading

from prefect.client.orchestration import SyncPrefectClient, get_client

_lock = threading.Lock()
_client: SyncPrefectClient | None = None


def prefect_client() -> SyncPrefectClient:
    """A long-lived client (httpx connection pooling); thread-safe to share."""
    global _client
    with _lock:
        if _client is None:
            client = get_client(sync_client=True)
            client.__enter__()
            _client = client
        return _client


def close_prefect_client() -> None:
    global _client
    with _lock:
        if _client is not None:
            _client.__exit__(None, None, None)
        _client = None
