"""Planning a provision: which workflows are created, updated, deleted or left alone."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from lightning_flows.projects.models import Project
from lightning_flows.provisioning.credentials import CredentialLinks
from lightning_flows.provisioning.resolve import GraphResolver
from lightning_flows.provisioning.spec import ProjectSpec
from lightning_flows.provisioning.validation import GraphPlan
from lightning_flows.workflows import service as workflows
from lightning_flows.workflows.models import Workflow
from lightning_flows.workflows.schemas import WorkflowDocument, WorkflowPublic


@dataclass
class WorkflowPlan:
    key: str
    name: str
    workflow_id: uuid.UUID
    existing: Workflow | None
    delete: bool = False
    graph: GraphPlan | None = None
    changed: bool = False


def plan_workflows(
    session: Session,
    project: Project | None,
    spec: ProjectSpec,
    credentials: CredentialLinks,
    problems: list[dict[str, str]],
) -> list[WorkflowPlan]:
    """One plan per workflow of the document; problems are appended, never raised."""
    live: dict[uuid.UUID, Workflow] = {}
    if project is not None:
        rows = session.exec(
            select(Workflow).where(
                Workflow.project_id == project.id, col(Workflow.deleted_at).is_(None)
            )
        ).all()
        live = {wf.id: wf for wf in rows}
    by_name = {wf.name: wf for wf in live.values()}
    claimed: set[uuid.UUID] = set()
    plans: list[WorkflowPlan] = []
    for key, wf_spec in spec.workflows.items():
        path, name = f"workflows.{key}", wf_spec.name or key
        ok, existing = _find(session, project, wf_spec.id, by_name.get(name), path, problems)
        if not ok:
            continue
        if existing is not None and existing.id in claimed:
            problems.append({"loc": path, "message": f"workflow '{existing.name}' is listed twice"})
            continue
        if existing is not None:
            claimed.add(existing.id)
        workflow_id = existing.id if existing else (wf_spec.id or uuid.uuid4())
        if wf_spec.delete:
            if existing is not None:
                plans.append(WorkflowPlan(key, existing.name, workflow_id, existing, delete=True))
            continue
        current = workflows.to_public(session, existing) if existing else None
        resolver = GraphResolver(session, path, wf_spec, current, credentials)
        graph = resolver.resolve()
        problems += [p.as_dict() for p in resolver.problems]
        changed = current is None or _comparable(_as_document(current)) != _comparable(graph.doc)
        plans.append(WorkflowPlan(key, name, workflow_id, existing, graph=graph, changed=changed))
    _check_names(live, claimed, plans, problems)
    return plans


def _find(
    session: Session,
    project: Project | None,
    workflow_id: uuid.UUID | None,
    same_name: Workflow | None,
    path: str,
    problems: list[dict[str, str]],
) -> tuple[bool, Workflow | None]:
    """(ok, the live workflow an entry updates or None when it is new); not ok: a problem."""
    if workflow_id is None:
        return True, same_name
    row = session.get(Workflow, workflow_id)
    if row is None:
        return True, None
    if project is None or row.project_id != project.id:
        problems.append(
            {"loc": f"{path}.id", "message": f"workflow {workflow_id} belongs to another project"}
        )
        return False, None
    if row.deleted_at is not None:
        problems.append(
            {
                "loc": f"{path}.id",
                "message": f"workflow {workflow_id} was deleted; remove the id to create it anew",
            }
        )
        return False, None
    return True, row


def _check_names(
    live: dict[uuid.UUID, Workflow],
    claimed: set[uuid.UUID],
    plans: list[WorkflowPlan],
    problems: list[dict[str, str]],
) -> None:
    taken = {wf.name: f"existing workflow {wf.id}" for wf in live.values() if wf.id not in claimed}
    for plan in plans:
        if plan.delete:
            continue
        if plan.name in taken:
            problems.append(
                {
                    "loc": f"workflows.{plan.key}.name",
                    "message": f"duplicate workflow name '{plan.name}' (also {taken[plan.name]})",
                }
            )
        taken.setdefault(plan.name, f"workflows.{plan.key}")


def _as_document(public: WorkflowPublic) -> WorkflowDocument:
    doc = WorkflowDocument.model_validate(public.model_dump())
    for job, stored in zip(doc.jobs, public.jobs, strict=True):
        job.adaptor_requested = stored.adaptor_requested  # not in public dumps
    return doc


def _comparable(doc: WorkflowDocument) -> dict[str, Any]:
    data = doc.model_dump(mode="json", exclude={"lock_version"})
    for kind in ("jobs", "triggers", "edges"):
        data[kind] = sorted(data[kind], key=lambda item: item["id"])
    return data
