"""Baseline of benchmarks/intake.py: a 1-task flow served with stock `flow.serve()`.

Kept free of any Lightning Flows import (each served flow run starts a fresh process).
"""

from __future__ import annotations

from prefect import flow, task


@task
def handle(n: int) -> int:
    return n


@flow(name="lf-bench-intake-baseline")
def baseline_intake(n: int = 0) -> int:
    return handle(n)


if __name__ == "__main__":
    baseline_intake.serve(name="baseline-intake")
