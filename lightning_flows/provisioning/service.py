"""Provisioning: create or update a whole project from a document, in ONE transaction.

`provision` validates everything first (422 naming each problem's path), then
writes the project, credential links and every changed workflow (a version
with source `cli` each), audits, commits, and only then publishes workflow
events and runs the after-provision hooks (git sync).
"""

from __future__ import annotations

import contextvars
import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from lightning_flows.accounts.models import User
from lightning_flows.accounts.policy import Action, authorize
from lightning_flows.audit import service as audit
from lightning_flows.core.errors import InvalidInput
from lightning_flows.core.models import touch
from lightning_flows.projects.models import Project, ProjectUser, Role
from lightning_flows.provisioning import diff as project_diff
from lightning_flows.provisioning.credentials import resolve_credentials
from lightning_flows.provisioning.export import project_state
from lightning_flows.provisioning.extras import plan_extras
from lightning_flows.provisioning.plan import WorkflowPlan, plan_workflows
from lightning_flows.provisioning.spec import ProjectSpec, parse_document
from lightning_flows.provisioning.test_cases import plan_test_cases
from lightning_flows.workflows import events
from lightning_flows.workflows import service as workflows
from lightning_flows.workflows.models import VersionSource

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """A provision: the project, its state document and what changed."""

    project: Project
    actor: User
    state: dict[str, Any]
    created: bool
    events: list[events.WorkflowChanged] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)

    @property
    def summary(self) -> str:
        parts = [f"{kind} {', '.join(names)}" for kind, names in self.changed.items() if names]
        return "; ".join(parts) or "no workflow changes"


Hook = Callable[[Outcome, str], None]
_hooks: list[Hook] = []
_publishing = contextvars.ContextVar("provision_publishing", default=False)


def on_provisioned(fn: Hook) -> Hook:
    """Call `fn(outcome, via)` after every committed provision (idempotent)."""
    if fn not in _hooks:
        _hooks.append(fn)
    return fn


def publishing() -> bool:
    """True while a provision publishes its workflow events (hooks handle it as one change)."""
    return _publishing.get()


def provision(
    session: Session,
    user: User,
    raw: dict[str, Any],
    project_id: uuid.UUID | None = None,
    *,
    via: str = "api",
) -> Outcome:
    """Apply a project document, commit, then publish events and run hooks."""
    outcome = apply(session, user, raw, project_id, via=via)
    session.commit()
    after_commit(outcome, via)
    return outcome


def preview(
    session: Session, user: User, raw: dict[str, Any], project_id: uuid.UUID | None = None
) -> project_diff.ProjectDiff:
    """What `provision` would change, without changing anything."""
    spec_id = project_id or parse_document(raw).id
    before = project_diff.capture(session, spec_id)
    try:
        outcome = apply(session, user, raw, project_id, via="preview")
        session.flush()
        after = project_diff.capture(session, outcome.project.id)
        assert after is not None  # noqa: S101
        return project_diff.diff_projects(before, after)
    finally:
        session.rollback()


def apply(
    session: Session,
    user: User,
    raw: dict[str, Any],
    project_id: uuid.UUID | None = None,
    *,
    via: str = "api",
) -> Outcome:
    """Validate and write the document without committing (callers commit)."""
    spec = parse_document(raw)
    if project_id and spec.id and project_id != spec.id:
        raise InvalidInput(f"id: the document is project {spec.id}, not {project_id}")
    target_id = project_id or spec.id
    project = session.get(Project, target_id) if target_id else None
    if project is not None:
        authorize(session, user, Action.PROVISION, project.id)
    problems: list[dict[str, str]] = []
    credentials = resolve_credentials(session, user, project, spec, problems)
    plans = plan_workflows(session, project, spec, credentials, problems)
    extras = plan_extras(session, project, spec, credentials, problems)
    test_cases = plan_test_cases(session, project, raw, spec, problems)
    if problems:
        first = problems[0]
        raise InvalidInput(
            f"Invalid project document: {first['loc']}: {first['message']}", details=problems
        )
    created = project is None
    project, fields = _write_project(session, project, spec, user, target_id)
    credentials.link(session, project.id)
    extras.write(session, project.id)
    outcome = Outcome(project=project, actor=user, state={}, created=created)
    if fields:
        outcome.changed["project"] = fields
    hints: dict[uuid.UUID, str] = {**credentials.hints, **extras.hints}
    for plan in plans:
        hints[plan.workflow_id] = plan.key
        if plan.graph is not None:
            hints.update(plan.graph.hints)
        _apply_plan(session, project.id, plan, user, outcome)
    session.flush()
    test_cases.write(session, project.id, {p.key: p.workflow_id for p in plans if not p.delete})
    audit.record(
        session,
        "provisioned",
        "project",
        project.id,
        user.id,
        after={"name": project.name},
        details={"via": via, "created": created, "workflows": outcome.changed},
    )
    session.flush()
    outcome.state = project_state(session, project, hints)
    return outcome


def after_commit(outcome: Outcome, via: str) -> None:
    """Publish the workflow events, then run hooks; a failing hook never undoes anything."""
    with _publishing_events():
        for event in outcome.events:
            events.publish(event)
    for hook in list(_hooks):
        try:
            hook(outcome, via)
        except Exception:
            log.exception("after-provision hook %r failed for project %s", hook, outcome.project.id)


@contextmanager
def _publishing_events() -> Iterator[None]:
    token = _publishing.set(True)
    try:
        yield
    finally:
        _publishing.reset(token)


def _write_project(
    session: Session,
    project: Project | None,
    spec: ProjectSpec,
    user: User,
    project_id: uuid.UUID | None,
) -> tuple[Project, list[str]]:
    """The created or updated project, and which of its fields an update changed."""
    if project is None:
        project = Project(name=spec.name, description=spec.description or "")
        if project_id:
            project.id = project_id
        session.add(project)
        session.flush()
        session.add(ProjectUser(project_id=project.id, user_id=user.id, role=Role.OWNER.value))
        audit.record(session, "created", "project", project.id, user.id, after={"name": spec.name})
        return project, []
    changes = {"name": spec.name}
    if spec.description is not None:
        changes["description"] = spec.description
    before = {k: getattr(project, k) for k in changes if getattr(project, k) != changes[k]}
    if before:
        for key in before:
            setattr(project, key, changes[key])
        touch(project)
        session.add(project)
        audit.record(
            session,
            "updated",
            "project",
            project.id,
            user.id,
            before=before,
            after={k: changes[k] for k in before},
        )
    return project, list(before)


def _apply_plan(
    session: Session, project_id: uuid.UUID, plan: WorkflowPlan, user: User, outcome: Outcome
) -> None:
    if plan.delete:
        workflows.stage_delete(session, project_id, plan.workflow_id, user.id)
        outcome.changed.setdefault("deleted", []).append(plan.name)
        outcome.events.append(events.WorkflowChanged(plan.workflow_id, project_id, "deleted"))
        return
    if plan.graph is None or not plan.changed:
        return
    source = VersionSource.CLI
    if plan.existing is None:
        workflows.stage_create(
            session, project_id, plan.graph.doc, user.id, source, workflow_id=plan.workflow_id
        )
        outcome.changed.setdefault("created", []).append(plan.name)
    else:
        workflows.stage_update(
            session, project_id, plan.workflow_id, plan.graph.doc, user.id, source
        )
        outcome.changed.setdefault("updated", []).append(plan.name)
    outcome.events.append(events.WorkflowChanged(plan.workflow_id, project_id, "saved"))
