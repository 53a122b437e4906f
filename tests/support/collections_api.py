"""The API served live so that jobs' collections calls reach it (LIGHTNING_COLLECTIONS_URL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from lightning_flows.core.config import get_settings
from tests.support.projects import live_server


@contextmanager
def live_collections_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Serve the app on 127.0.0.1 and point the engine's collections_endpoint at it."""
    with live_server() as url:
        monkeypatch.setenv("LIGHTNING_COLLECTIONS_URL", f"{url}/collections")
        get_settings.cache_clear()
        try:
            yield url
        finally:
            monkeypatch.delenv("LIGHTNING_COLLECTIONS_URL")
            get_settings.cache_clear()
