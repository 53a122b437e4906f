"""Workflow change alerts: who changed which workflow, what changed, and a link to the diff.

Members opt in per project (`project_users.workflow_change_alert`). The mail
is built after the change is committed and sent on a background thread, so a
slow or absent mail server never slows down or undoes a save.
"""

from __future__ import annotations

import logging
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from sqlmodel import Session, col, select

from lightning_flows.accounts.models import User
from lightning_flows.audit.models import AuditEvent
from lightning_flows.core import mail
from lightning_flows.core.config import get_settings
from lightning_flows.core.db import get_engine
from lightning_flows.core.errors import NotFound
from lightning_flows.core.models import touch
from lightning_flows.projects.models import Project, ProjectUser
from lightning_flows.workflows import events, versions
from lightning_flows.workflows.diff import diff_workflows, render_text
from lightning_flows.workflows.models import Workflow, WorkflowSnapshot

log = logging.getLogger(__name__)
_sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="workflow-change-mail")


@dataclass(frozen=True)
class Alert:
    recipients: list[str]
    subject: str
    body: str


def enable() -> None:
    """Start sending alerts (idempotent; the app factory calls it)."""
    events.subscribe(on_workflow_changed)


def on_workflow_changed(event: events.WorkflowChanged) -> None:
    if not get_settings().smtp_host:
        return
    with Session(get_engine()) as session:
        alert = build_alert(session, event)
    if alert is not None:
        _sender.submit(_send, alert)


def wait_for_pending(timeout: float = 10.0) -> None:
    """Block until every alert queued so far was handed to the mail server (tests, shutdown)."""
    done: Future[None] = _sender.submit(lambda: None)
    done.result(timeout=timeout)


def _send(alert: Alert) -> None:
    for to in alert.recipients:
        try:
            mail.send_mail(to, alert.subject, alert.body)
        except mail.MailUnavailable:
            log.warning("workflow change alert to a member could not be sent")


def build_alert(session: Session, event: events.WorkflowChanged) -> Alert | None:
    """The alert for a committed change, or None when nobody asked for one."""
    workflow = session.get(Workflow, event.workflow_id)
    project = session.get(Project, event.project_id)
    if workflow is None or project is None:
        return None
    actor_id, what, link = _change(session, event, workflow)
    actor = session.get(User, actor_id) if actor_id else None
    members = (
        select(User.email)
        .join(ProjectUser, ProjectUser.user_id == User.id)  # type: ignore[arg-type]
        .where(
            ProjectUser.project_id == project.id,
            col(ProjectUser.workflow_change_alert).is_(True),
            col(User.disabled).is_(False),
        )
        .order_by(col(User.email))
    )
    if actor_id is not None:  # the author knows already
        members = members.where(User.id != actor_id)
    recipients = session.exec(members).all()
    if not recipients:
        return None
    who = actor.email if actor else "Someone (or an automated sync)"
    verb = "deleted" if event.kind == "deleted" else "changed"
    body = [
        f'{who} {verb} the workflow "{workflow.name}" in the project "{project.name}".',
        "",
        *what,
    ]
    if link:
        body += ["", f"See the change: {link}"]
    body += [
        "",
        "You get this email because you turned on workflow change alerts for this project.",
        "Turn them off in the project's notification settings.",
    ]
    return Alert(
        recipients=list(recipients),
        subject=f'[{project.name}] {who} {verb} workflow "{workflow.name}"',
        body="\n".join(body) + "\n",
    )


def _change(
    session: Session, event: events.WorkflowChanged, workflow: Workflow
) -> tuple[uuid.UUID | None, list[str], str | None]:
    """(who, the lines describing what changed, a link to the diff)."""
    if event.kind == "deleted":
        audit = session.exec(
            select(AuditEvent)
            .where(AuditEvent.item_id == workflow.id, AuditEvent.event == "deleted")
            .order_by(col(AuditEvent.inserted_at).desc())
        ).first()
        return (audit.actor_id if audit else None), ["The workflow was deleted."], None
    latest = versions.latest_versions(session, workflow.id, limit=2)
    if not latest:
        return None, [], None
    new, old = latest[0], (latest[1] if len(latest) > 1 else None)
    new_doc = session.get(WorkflowSnapshot, new.snapshot_id)
    old_doc = session.get(WorkflowSnapshot, old.snapshot_id) if old else None
    diff = diff_workflows(
        old_doc.document if old_doc else None, new_doc.document if new_doc else None
    )
    lines = [
        f"Version {new.short_hash} (saved {new.inserted_at:%Y-%m-%d %H:%M} UTC from the "
        f"{'command line / API' if new.source.value == 'cli' else 'app'}): {diff.summary()}",
        "",
        *render_text(diff),
    ]
    link = versions.diff_url(get_settings().public_url, workflow.project_id, workflow.id, new, old)
    return new.author_id, lines, link


def member_preference(session: Session, project_id: uuid.UUID, user: User) -> ProjectUser:
    """The caller's membership (their alert preferences live there)."""
    member = session.exec(
        select(ProjectUser).where(
            ProjectUser.project_id == project_id, ProjectUser.user_id == user.id
        )
    ).first()
    if member is None:
        raise NotFound("You are not a member of this project.")
    return member


def set_workflow_change_alert(
    session: Session, project_id: uuid.UUID, user: User, enabled: bool
) -> ProjectUser:
    member = member_preference(session, project_id, user)
    member.workflow_change_alert = enabled
    touch(member)
    session.add(member)
    session.commit()
    return member
