"""Saving, reading and deleting workflows: the workflows context's public surface.

A save writes the workflow, its jobs, triggers and edges, a new snapshot and a
version in ONE transaction, then publishes `WorkflowChanged` after commit.

Saves are optimistic: the first write of an update is
`UPDATE workflows SET lock_version = lock_version + 1 WHERE id = :id AND
lock_version = :read`, so of several saves made from one version exactly one
commits (PostgreSQL's row lock makes the others wait, then re-check the WHERE;
SQLite has one writer at a time) and the others get a 409 with the version to
reload. Prefect is never called here: subscribers of `WorkflowChanged` do it.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from lightning_flows.audit import service as audit
from lightning_flows.core.errors import Conflict, InvalidInput, NotFound
from lightning_flows.core.models import touch
from lightning_flows.core.pagination import Page, PageParams, paginate
from lightning_flows.core.timeutil import utcnow
from lightning_flows.credentials.models import ProjectCredential
from lightning_flows.workflows import events
from lightning_flows.workflows.adaptors import pin_adaptor
from lightning_flows.workflows.graph import validate_document
from lightning_flows.workflows.models import (
    Edge,
    Job,
    Trigger,
    VersionSource,
    Workflow,
    WorkflowSnapshot,
    WorkflowVersion,
)
from lightning_flows.workflows.schemas import WorkflowDocument, WorkflowPublic


def get_workflow(session: Session, project_id: uuid.UUID, workflow_id: uuid.UUID) -> Workflow:
    """A live (not deleted) workflow of the project, or NotFound."""
    workflow = session.get(Workflow, workflow_id)
    if workflow is None or workflow.project_id != project_id or workflow.deleted_at is not None:
        raise NotFound("Workflow not found.")
    return workflow


def list_workflows(session: Session, project_id: uuid.UUID, params: PageParams) -> Page[Any]:
    statement = (
        select(Workflow)
        .where(Workflow.project_id == project_id, col(Workflow.deleted_at).is_(None))
        .order_by(col(Workflow.name), col(Workflow.id))
    )
    page = paginate(session, statement, params)
    page.items = [to_public(session, wf) for wf in page.items]
    return page


def to_public(session: Session, workflow: Workflow) -> WorkflowPublic:
    """The stored document of a workflow, with every id."""
    jobs = session.exec(
        select(Job)
        .where(Job.workflow_id == workflow.id)
        .order_by(col(Job.inserted_at), col(Job.name))
    ).all()
    triggers = session.exec(
        select(Trigger).where(Trigger.workflow_id == workflow.id).order_by(col(Trigger.inserted_at))
    ).all()
    edges = session.exec(
        select(Edge).where(Edge.workflow_id == workflow.id).order_by(col(Edge.inserted_at))
    ).all()
    return WorkflowPublic.model_validate(
        {
            **workflow.model_dump(),
            "jobs": [j.model_dump() for j in jobs],
            "triggers": [t.model_dump() for t in triggers],
            "edges": [e.model_dump() for e in edges],
        }
    )


def create_workflow(
    session: Session,
    project_id: uuid.UUID,
    doc: WorkflowDocument,
    actor_id: uuid.UUID | None,
    source: VersionSource = VersionSource.APP,
) -> WorkflowPublic:
    public = stage_create(session, project_id, doc, actor_id, source)
    _commit_and_publish(session, WorkflowChanged(public.id, project_id, "saved"))
    return public


def update_workflow(
    session: Session,
    project_id: uuid.UUID,
    workflow_id: uuid.UUID,
    doc: WorkflowDocument,
    actor_id: uuid.UUID | None,
    source: VersionSource = VersionSource.APP,
) -> WorkflowPublic:
    """Replace a workflow's whole graph; nodes missing from `doc` are deleted."""
    public = stage_update(session, project_id, workflow_id, doc, actor_id, source)
    _commit_and_publish(session, WorkflowChanged(workflow_id, project_id, "saved"))
    return public


def delete_workflow(
    session: Session, project_id: uuid.UUID, workflow_id: uuid.UUID, actor_id: uuid.UUID | None
) -> None:
    """Soft-delete: history stays readable, triggers stop accepting requests."""
    stage_delete(session, project_id, workflow_id, actor_id)
    _commit_and_publish(session, WorkflowChanged(workflow_id, project_id, "deleted"))


# The stage_* functions write without committing, so several changes can share one
# transaction (provisioning); the caller commits, then publishes a WorkflowChanged each.


def stage_create(
    session: Session,
    project_id: uuid.UUID,
    doc: WorkflowDocument,
    actor_id: uuid.UUID | None,
    source: VersionSource = VersionSource.APP,
    *,
    workflow_id: uuid.UUID | None = None,
) -> WorkflowPublic:
    """`create_workflow` without the commit; `workflow_id` lets a client choose the id."""
    workflow = Workflow(project_id=project_id, name=doc.name)
    if workflow_id is not None:
        workflow.id = workflow_id
    return _save(session, workflow, doc, actor_id, source, created=True)


def stage_update(
    session: Session,
    project_id: uuid.UUID,
    workflow_id: uuid.UUID,
    doc: WorkflowDocument,
    actor_id: uuid.UUID | None,
    source: VersionSource = VersionSource.APP,
) -> WorkflowPublic:
    """`update_workflow` without the commit."""
    workflow = get_workflow(session, project_id, workflow_id)
    if doc.lock_version is not None and doc.lock_version != workflow.lock_version:
        raise Conflict(_stale_message(workflow.lock_version, doc.lock_version))
    return _save(session, workflow, doc, actor_id, source, created=False)


def stage_delete(
    session: Session, project_id: uuid.UUID, workflow_id: uuid.UUID, actor_id: uuid.UUID | None
) -> None:
    """`delete_workflow` without the commit."""
    workflow = get_workflow(session, project_id, workflow_id)
    workflow.deleted_at = utcnow()
    touch(workflow)
    for trigger in session.exec(select(Trigger).where(Trigger.workflow_id == workflow.id)).all():
        trigger.enabled = False
        session.add(trigger)
    audit.record(
        session, "deleted", "workflow", workflow.id, actor_id, before={"name": workflow.name}
    )


def _commit_and_publish(session: Session, event: events.WorkflowChanged) -> None:
    session.commit()
    events.publish(event)


def latest_snapshot(session: Session, workflow_id: uuid.UUID) -> WorkflowSnapshot:
    snapshot = session.exec(
        select(WorkflowSnapshot)
        .where(WorkflowSnapshot.workflow_id == workflow_id)
        .order_by(col(WorkflowSnapshot.lock_version).desc())
    ).first()
    if snapshot is None:
        raise NotFound("This workflow has never been saved.")
    return snapshot


WorkflowChanged = events.WorkflowChanged


def _save(
    session: Session,
    workflow: Workflow,
    doc: WorkflowDocument,
    actor_id: uuid.UUID | None,
    source: VersionSource,
    *,
    created: bool,
) -> WorkflowPublic:
    doc = _with_ids(doc)
    validate_document(doc)
    for i, job in enumerate(doc.jobs):
        job.adaptor = pin_adaptor(job.adaptor, f"jobs[{i}].adaptor")
    with session.no_autoflush:
        _check_references(session, workflow, doc)
    before = {"name": workflow.name, "lock_version": workflow.lock_version}
    if created:
        workflow.lock_version += 1
    else:
        _take_next_version(session, workflow)
    session.add(workflow)
    workflow.name, workflow.concurrency, workflow.positions = (
        doc.name,
        doc.concurrency,
        doc.positions,
    )
    workflow.retry_lost_runs = doc.retry_lost_runs
    workflow.on_worker_loss = doc.on_worker_loss
    touch(workflow)
    try:
        session.flush()
        _replace_graph(session, workflow, doc)
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(_integrity_message(exc)) from exc
    public = to_public(session, workflow)
    snapshot = WorkflowSnapshot(
        workflow_id=workflow.id,
        lock_version=workflow.lock_version,
        name=workflow.name,
        document=public.model_dump(mode="json"),
    )
    session.add(snapshot)
    session.flush()
    session.add(
        WorkflowVersion(
            workflow_id=workflow.id,
            snapshot_id=snapshot.id,
            hash=_content_hash(public),
            source=source.value,
            author_id=actor_id,
        )
    )
    audit.record(
        session,
        "created" if created else "updated",
        "workflow",
        workflow.id,
        actor_id,
        before={} if created else before,
        after={"name": workflow.name, "lock_version": workflow.lock_version},
    )
    return public


def _take_next_version(session: Session, workflow: Workflow) -> None:
    """The save's first write: move the stored version from the one this save read to the
    next, or refuse (409) when another save (or a delete) got there first."""
    read = workflow.lock_version
    result = session.connection().execute(
        update(Workflow)
        .where(
            col(Workflow.id) == workflow.id,
            col(Workflow.lock_version) == read,
            col(Workflow.deleted_at).is_(None),
        )
        .values(lock_version=col(Workflow.lock_version) + 1)
    )
    if result.rowcount == 1:
        set_committed_value(workflow, "lock_version", read + 1)
        return
    current = (
        session.connection()
        .execute(
            select(Workflow.lock_version, Workflow.deleted_at).where(
                col(Workflow.id) == workflow.id
            )
        )
        .first()
    )
    session.rollback()
    if current is None or current[1] is not None:
        raise NotFound("Workflow not found: it was deleted while you edited it.")
    raise Conflict(_stale_message(current[0], read))


def _stale_message(stored: int, edited: int) -> str:
    return (
        f"This workflow was saved by someone else (now version {stored}, you edited "
        f"version {edited}); reload it and apply your changes again."
    )


def _with_ids(doc: WorkflowDocument) -> WorkflowDocument:
    """Give every node and edge an id (clients may send their own UUIDs)."""
    doc = doc.model_copy(deep=True)
    items: list[Any] = [*doc.jobs, *doc.triggers, *doc.edges]
    for item in items:
        if item.id is None:
            item.id = uuid.uuid4()
    return doc


def _check_references(session: Session, workflow: Workflow, doc: WorkflowDocument) -> None:
    """Ids that already exist must belong to this workflow; credentials to its project."""
    for model, items, kind in (
        (Job, doc.jobs, "jobs"),
        (Trigger, doc.triggers, "triggers"),
        (Edge, doc.edges, "edges"),
    ):
        ids = [i.id for i in items]
        if not ids:
            continue
        rows: list[Any] = list(session.exec(select(model).where(col(model.id).in_(ids))).all())
        for row in rows:
            if row.workflow_id != workflow.id:
                raise InvalidInput(f"{kind}: id {row.id} belongs to another workflow.")
    for i, job in enumerate(doc.jobs):
        if job.project_credential_id is None:
            continue
        pc = session.get(ProjectCredential, job.project_credential_id)
        if pc is None or pc.project_id != workflow.project_id:
            raise InvalidInput(
                f"jobs[{i}].project_credential_id: credential is not shared with this project."
            )


def _replace_graph(session: Session, workflow: Workflow, doc: WorkflowDocument) -> None:
    keep_edges = {e.id for e in doc.edges}
    for edge in session.exec(select(Edge).where(Edge.workflow_id == workflow.id)).all():
        if edge.id not in keep_edges:
            session.delete(edge)
    keep_jobs, keep_triggers = {j.id for j in doc.jobs}, {t.id for t in doc.triggers}
    for trig in session.exec(select(Trigger).where(Trigger.workflow_id == workflow.id)).all():
        if trig.id not in keep_triggers:
            session.delete(trig)
    for job in session.exec(select(Job).where(Job.workflow_id == workflow.id)).all():
        if job.id not in keep_jobs:
            session.delete(job)
    session.flush()
    for model, items in ((Job, doc.jobs), (Trigger, doc.triggers)):
        for item in items:
            _upsert(session, model, workflow.id, item.model_dump(mode="python"))
    session.flush()
    for edge_doc in doc.edges:
        _upsert(session, Edge, workflow.id, edge_doc.model_dump(mode="python"))


def _upsert(session: Session, model: Any, workflow_id: uuid.UUID, values: dict[str, Any]) -> None:
    row = session.get(model, values["id"])
    values = {k: (v.value if hasattr(v, "value") else v) for k, v in values.items()}
    if row is None:
        session.add(model(workflow_id=workflow_id, **values))
        return
    changed = False
    for key, value in values.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
            changed = True
    if changed:
        touch(row)
        session.add(row)


def _content_hash(public: WorkflowPublic) -> str:
    content = public.model_dump(mode="json", exclude={"lock_version", "inserted_at", "updated_at"})
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:12]


def _integrity_message(exc: IntegrityError) -> str:
    text = str(exc.orig).lower()
    if "custom_path" in text:
        return "That webhook custom path is already used by another trigger; choose another."
    if "jobs" in text and "name" in text:
        return "Two jobs in this workflow have the same name."
    if "workflow" in text and "name" in text:
        return "A workflow with this name already exists in the project."
    return "The workflow conflicts with stored data; reload it and try again."
