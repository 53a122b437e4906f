"""The engine's Prefect side: the client, deployments on the work pool, flow runs
created and driven for runs, steps reported as task runs, and the `lightning-flows-run`
flow that Prefect's own workers execute. Execution itself (engine/execution.py and
below) does not import Prefect."""
