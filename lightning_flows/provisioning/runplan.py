"""An execution plan from a workflow of a project spec, for `lightning-flows run project.yaml`.

Step ids are the job keys; the run starts at the workflow's trigger (or the
job with no parent) unless `start` names a job by key or name.
"""

from __future__ import annotations

from pathlib import Path

from lightning_flows.core.errors import InvalidInput
from lightning_flows.engine.execution_plan import ExecutionPlan, PlanEdge, PlanStep
from lightning_flows.engine.local import LocalRunError
from lightning_flows.provisioning.files import read_spec
from lightning_flows.provisioning.spec import WorkflowSpec, parse_document


def load_spec_plan(path: Path, *, workflow: str | None, start: str | None) -> ExecutionPlan:
    """The plan of one workflow of the spec at `path`; LocalRunError explains any problem."""
    if not path.is_file():
        raise LocalRunError(f"The spec file {path} does not exist.")
    try:
        spec = parse_document(read_spec(path))
    except InvalidInput as exc:
        raise LocalRunError(f"Invalid spec {path}: {exc.message}") from exc
    key, wf = _choose(spec.workflows, workflow, path)
    steps = {
        job_key: PlanStep(
            id=job_key, name=job.name or job_key, adaptor=job.adaptor, body=str(job.body)
        )
        for job_key, job in wf.jobs.items()
        if not job.delete
    }
    triggers = frozenset(k for k, t in wf.triggers.items() if not t.delete)
    edges = []
    for edge_key, edge in wf.edges.items():
        source = edge.source_job or edge.source_trigger
        if edge.delete:
            continue
        if (source not in steps and source not in triggers) or edge.target_job not in steps:
            raise LocalRunError(
                f"workflows.{key}.edges.{edge_key}: it joins unknown steps "
                f"'{source}' -> '{edge.target_job}'."
            )
        edges.append(
            PlanEdge(
                source=str(source),
                target=str(edge.target_job),
                condition=edge.condition_type.value,
                expression=edge.condition_expression,
                enabled=edge.enabled,
                label=edge.condition_label,
            )
        )
    if not steps:
        raise LocalRunError(f"Workflow '{key}' has no jobs to run.")
    plan = ExecutionPlan(steps=steps, edges=edges, start="", triggers=triggers)
    return ExecutionPlan(steps=steps, edges=edges, start=_start(plan, start), triggers=triggers)


def _choose(
    workflows: dict[str, WorkflowSpec], wanted: str | None, path: Path
) -> tuple[str, WorkflowSpec]:
    names = ", ".join(f"'{k}'" for k in workflows) or "none"
    if wanted is None:
        if len(workflows) != 1:
            raise LocalRunError(
                f"{path} has {len(workflows)} workflows ({names}): choose one with --workflow."
            )
        return next(iter(workflows.items()))
    for key, wf in workflows.items():
        if wanted in (key, wf.name):
            return key, wf
    raise LocalRunError(f"There is no workflow '{wanted}' in {path} (workflows: {names}).")


def _start(plan: ExecutionPlan, wanted: str | None) -> str:
    if wanted is not None:
        for step in plan.steps.values():
            if wanted in (step.id, step.name):
                return step.id
        if wanted in plan.triggers:
            return wanted
        known = ", ".join(sorted(plan.steps))
        raise LocalRunError(f"There is no step '{wanted}' to start from (steps: {known}).")
    for trigger in sorted(plan.triggers):
        if plan.outgoing(trigger):
            return trigger
    targets = {edge.target for edge in plan.edges}
    roots = [step for step in plan.steps if step not in targets]
    return roots[0] if roots else next(iter(plan.steps))
