"""Per-step limits (time, memory, state size) and a pool that keeps serving."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from adaptor_tasks import AdaptorRef, ExitReason, NodePool, PoolClosedError, StepRequest


@pytest.fixture(scope="module")
def small_pool(common: AdaptorRef) -> Iterator[NodePool]:
    """One worker with tight limits, so a replaced process is the one the next step gets."""
    with NodePool(
        size=1,
        step_timeout_s=1.5,
        memory_limit_mb=96,
        state_limit_bytes=64 * 1024,
        preload=[common],
    ) as pool:
        warm = pool.run_step(step(common, "fn(s => s);"))
        assert warm.exit_reason is ExitReason.SUCCESS, warm
        yield pool


def step(common: AdaptorRef, body: str, timeout_s: float | None = None) -> StepRequest:
    return StepRequest(
        step_id="limited", body=body, adaptor=common, state={"data": {}}, timeout_s=timeout_s
    )


def test_an_endless_loop_is_killed_at_the_timeout_and_the_pool_recovers(
    small_pool: NodePool, common: AdaptorRef
) -> None:
    started = time.monotonic()
    result = small_pool.run_step(step(common, "fn(s => { while (true) {} });", timeout_s=1.0))
    elapsed = time.monotonic() - started
    assert result.exit_reason is ExitReason.KILL
    assert result.error_type == "TimeoutError"
    # The limit counts from when the job starts; the worker is warm, so little comes before.
    assert 1.0 <= elapsed < 4.0
    after = small_pool.run_step(step(common, "fn(s => ({ ...s, data: { ok: true } }));"))
    assert after.exit_reason is ExitReason.SUCCESS, after
    assert after.state == {"data": {"ok": True}}


def test_a_never_settling_promise_is_a_timeout_reported_by_the_runtime(
    small_pool: NodePool, common: AdaptorRef
) -> None:
    result = small_pool.run_step(step(common, "fn(s => new Promise(() => {}));", timeout_s=0.5))
    assert result.exit_reason is ExitReason.KILL
    assert result.error_type == "TimeoutError"
    assert "500ms" in (result.error_message or "")
    assert small_pool.run_step(step(common, "fn(s => s);")).exit_reason is ExitReason.SUCCESS


def test_unbounded_allocation_is_killed_as_out_of_memory(
    small_pool: NodePool, common: AdaptorRef
) -> None:
    body = (
        "fn(s => { const hog = []; while (true) { hog.push(new Array(1e5).fill(hog.length)); } });"
    )
    result = small_pool.run_step(step(common, body, timeout_s=30))
    assert result.exit_reason is ExitReason.KILL
    assert result.error_type == "OOMError"
    assert "96 MB" in (result.error_message or "")
    assert small_pool.run_step(step(common, "fn(s => s);")).exit_reason is ExitReason.SUCCESS


def test_state_over_the_limit_is_killed(small_pool: NodePool, common: AdaptorRef) -> None:
    result = small_pool.run_step(
        step(common, "fn(s => ({ ...s, data: { big: 'x'.repeat(100000) } }));")
    )
    assert result.exit_reason is ExitReason.KILL
    assert result.error_type == "StateTooLargeError"
    assert result.state is None
    assert small_pool.run_step(step(common, "fn(s => s);")).exit_reason is ExitReason.SUCCESS


def test_concurrent_steps_from_many_threads(pool: NodePool, common: AdaptorRef) -> None:
    results: dict[int, object] = {}

    def worker(n: int) -> None:
        request = StepRequest(
            step_id=f"s{n}",
            body="fn(s => new Promise(r => setTimeout(() => r({ data: { n: s.data.n * 10 } }))));",
            adaptor=common,
            state={"data": {"n": n}},
        )
        results[n] = pool.run_step(request).state

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results == {n: {"data": {"n": n * 10}} for n in range(12)}


def test_a_closed_pool_refuses_work(common: AdaptorRef) -> None:
    pool = NodePool(size=1)
    pool.close()
    with pytest.raises(PoolClosedError):
        pool.run_step(step(common, "fn(s => s);"))
