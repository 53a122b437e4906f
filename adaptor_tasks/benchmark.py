"""Per-step overhead of the Node pool against @openfn/runtime alone.

Run: ``python -m adaptor_tasks.benchmark [--steps 300] [--gap-ms 0]``. Prints
median/p90/p99 of (a) the bare runtime in one warm Node process, with a fresh
and a shared adaptor instance per run, and (b) ``NodePool.run_step`` round trips
from Python for the same trivial ``fn(state => state)`` job with language-common.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess  # nosec B404
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from adaptor_tasks.models import StepRequest
from adaptor_tasks.pool import DEFAULT_NODE_DIR, NodePool
from adaptor_tasks.repository import AdaptorRepository


def _summary(label: str, samples_ms: Sequence[float]) -> str:
    ordered = sorted(samples_ms)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))]

    return (
        f"{label:<34} median {statistics.median(ordered):6.2f} ms   "
        f"p90 {pick(0.9):6.2f} ms   p99 {pick(0.99):6.2f} ms   (n={len(ordered)})"
    )


def bare_runtime(package_dir: str, name: str, steps: int, linking: str) -> list[float]:
    """Per-run times of @openfn/runtime alone (see node/bench-runtime.mjs)."""
    script = DEFAULT_NODE_DIR / "bench-runtime.mjs"
    argv = ["node", "--experimental-vm-modules", "--no-warnings", str(script)]
    result = subprocess.run(  # nosec B603
        [*argv, package_dir, name, str(steps), linking],
        capture_output=True,
        text=True,
        check=True,
        cwd=DEFAULT_NODE_DIR,
    )
    return [float(t) for t in json.loads(result.stdout)]


def pool_round_trips(steps: int, gap_s: float) -> tuple[list[float], list[float]]:
    """Round trips measured in Python, and the worker's own step durations."""
    # The bundled version: nothing is installed, so the cache directory stays untouched.
    common = AdaptorRepository(cache_dir=Path(tempfile.gettempdir())).resolve("common")
    round_trips, in_worker = [], []
    with NodePool(size=1, preload=[common]) as pool:
        request = StepRequest(step_id="bench", body="fn(state => state)", adaptor=common, state={})
        for _ in range(20):
            pool.run_step(request)
        time.sleep(0.5)
        for i in range(steps):
            request = StepRequest("bench", "fn(state => state)", common, {"data": {"i": i}})
            started = time.perf_counter()
            result = pool.run_step(request)
            round_trips.append((time.perf_counter() - started) * 1000)
            in_worker.append(result.duration_ms)
            if gap_s:
                time.sleep(gap_s)
    return round_trips, in_worker


def main(argv: Sequence[str] | None = None) -> None:
    """Print the benchmark summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--gap-ms", type=float, default=0.0, help="pause between steps")
    args = parser.parse_args(argv)
    common_dir = str(DEFAULT_NODE_DIR / "node_modules" / "@openfn" / "language-common")
    name = "@openfn/language-common"
    print(
        _summary(
            "runtime alone, shared adaptor", bare_runtime(common_dir, name, args.steps, "shared")
        )
    )
    print(
        _summary(
            "runtime alone, fresh adaptor", bare_runtime(common_dir, name, args.steps, "fresh")
        )
    )
    round_trips, in_worker = pool_round_trips(args.steps, args.gap_ms / 1000)
    print(_summary(f"pool step in worker (gap {args.gap_ms:g} ms)", in_worker))
    print(_summary(f"pool round trip (gap {args.gap_ms:g} ms)", round_trips))


if __name__ == "__main__":
    main()
