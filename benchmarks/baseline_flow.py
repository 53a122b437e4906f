"""Baseline of benchmarks/engine.py: a 3-task Prefect flow served with stock `flow.serve()`.

Each task does the job's work in Python (`n + 1`), so this baseline measures
Prefect's own dispatch and tracking and nothing else: it is the cheapest
possible equivalent of our 3-step workflow (ours also runs a real OpenFn job
per step in Node and records steps, dataclips and logs).

Kept free of any Lightning Flows import: every flow run of a served deployment
starts a fresh Python process that imports this file.
"""

from __future__ import annotations

from prefect import flow, task

FLOW_NAME = "lf-bench-baseline"
DEPLOYMENT_NAME = "lf-bench-baseline"


@task
def add_one(n: int) -> int:
    return n + 1


@flow(name=FLOW_NAME)
def baseline(n: int = 0) -> int:
    return add_one(add_one(add_one(n)))


if __name__ == "__main__":
    baseline.serve(name=DEPLOYMENT_NAME)
