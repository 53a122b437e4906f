"""The webhook target cache: one load per expiry, refreshed ahead, never stale after a save."""

from __future__ import annotations

import threading
import time

import pytest

from lightning_flows.webhooks import lookup


@pytest.fixture(autouse=True)
def _fresh_lookup_cache():
    lookup.clear_cache()
    yield
    lookup.clear_cache()


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Replace the database read with a slow fake that records its calls."""
    calls: list[str] = []

    def fake_load(key: str) -> None:
        calls.append(key)
        time.sleep(0.05)

    monkeypatch.setattr(lookup, "_load", fake_load)
    return calls


def test_concurrent_misses_load_once(loads: list[str]) -> None:
    threads = [threading.Thread(target=lookup.find_target, args=("k",)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert loads == ["k"]


def test_an_entry_near_expiry_is_served_and_refreshed_in_the_background(
    loads: list[str],
) -> None:
    lookup.find_target("k")
    aged = time.monotonic() - lookup.REFRESH_AFTER_SECONDS - 0.1
    lookup._cache["k"] = (aged, None)
    assert lookup.cached_target("k") is None, "still served from the cache"
    assert lookup.cached_target("k") is None, "and only one refresh is started"
    deadline = time.monotonic() + 5
    while lookup._cache["k"][0] == aged and time.monotonic() < deadline:
        time.sleep(0.01)
    assert loads == ["k", "k"]
    assert lookup._cache["k"][0] > aged


def test_a_load_overtaken_by_a_save_is_not_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    def load_then_saved(key: str) -> None:
        lookup.clear_cache()  # a workflow save lands while the old state is being read

    monkeypatch.setattr(lookup, "_load", load_then_saved)
    lookup.find_target("k")
    assert lookup.cached_target("k") is lookup.MISS
