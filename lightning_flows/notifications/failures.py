"""What a failure alert says, and who gets it.

An alert names the project, workflow, run, its state, the failed step and its error
(stored already scrubbed of secrets by the engine) and links to that step on the run
page (`LIGHTNING_BASE_URL`). The same dictionary is the alert webhook's JSON body.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from sqlmodel import Session, col, select

from lightning_flows.accounts.models import User
from lightning_flows.core.config import get_settings
from lightning_flows.notifications.throttle import Summary
from lightning_flows.projects.models import Project, ProjectUser
from lightning_flows.runs.models import Run, Step, WorkOrder
from lightning_flows.workflows.models import Workflow, WorkflowSnapshot

ERROR_CHARS = 2_000
FAILURE_STATES = ("failed", "crashed", "killed", "exception", "lost")


@dataclass(frozen=True)
class FailureAlert:
    project_id: uuid.UUID
    project_name: str
    workflow_id: uuid.UUID
    workflow_name: str
    work_order_id: uuid.UUID
    run_id: uuid.UUID
    state: str
    step_id: uuid.UUID | None
    step_name: str | None
    error: str
    finished_at: datetime | None
    url: str

    def payload(self) -> dict[str, Any]:
        """The webhook body: ids, names, state, scrubbed error and link; no data, no secret."""
        body = {k: (str(v) if isinstance(v, uuid.UUID) else v) for k, v in asdict(self).items()}
        body["finished_at"] = self.finished_at.isoformat() if self.finished_at else None
        return {"type": "run_failed", **body}


@dataclass(frozen=True)
class Recipient:
    user_id: uuid.UUID
    email: str


def load_alert(session: Session, run_id: uuid.UUID, state: str) -> FailureAlert | None:
    """The alert for a run that ended `state`, or None if the run is gone (purged)."""
    found = session.exec(
        select(Run, WorkOrder, Workflow, Project)
        .join(WorkOrder, col(WorkOrder.id) == col(Run.work_order_id))
        .join(Workflow, col(Workflow.id) == col(WorkOrder.workflow_id))
        .join(Project, col(Project.id) == col(WorkOrder.project_id))
        .where(col(Run.id) == run_id)
    ).first()
    if found is None:
        return None
    run, work_order, workflow, project = found
    step = session.exec(
        select(Step)
        .where(col(Step.run_id) == run_id, col(Step.exit_reason) != "success")
        .order_by(col(Step.finished_at).desc(), col(Step.inserted_at).desc())
    ).first()
    error = run.error_type or state
    if step is not None and (step.error_type or step.error_message):
        error = ": ".join(p for p in (step.error_type, step.error_message) if p)
    query = {"step": str(step.id)} if step is not None else {}
    url = f"{get_settings().public_url}/projects/{project.id}/runs/{run.id}"
    return FailureAlert(
        project_id=project.id,
        project_name=project.name,
        workflow_id=workflow.id,
        workflow_name=workflow.name,
        work_order_id=work_order.id,
        run_id=run.id,
        state=state,
        step_id=step.id if step else None,
        step_name=_job_name(session, run.snapshot_id, step.job_id) if step else None,
        error=error[:ERROR_CHARS],
        finished_at=run.finished_at,
        url=f"{url}?{urlencode(query)}" if query else url,
    )


def _job_name(session: Session, snapshot_id: uuid.UUID, job_id: uuid.UUID) -> str | None:
    snapshot = session.get(WorkflowSnapshot, snapshot_id)
    jobs = snapshot.document.get("jobs", []) if snapshot else []
    return next((j.get("name") for j in jobs if j.get("id") == str(job_id)), None)


def recipients(session: Session, project_id: uuid.UUID, workflow_id: uuid.UUID) -> list[Recipient]:
    """Members with failure alerts on for the whole project or for this workflow."""
    rows = session.exec(
        select(User.id, User.email, ProjectUser.failure_alert_workflow_ids)
        .join(ProjectUser, col(ProjectUser.user_id) == col(User.id))
        .where(
            col(ProjectUser.project_id) == project_id,
            col(ProjectUser.failure_alert).is_(True),
            col(User.disabled).is_(False),
        )
        .order_by(col(User.email))
    ).all()
    return [
        Recipient(user_id, email)
        for user_id, email, only in rows
        if only is None or str(workflow_id) in only
    ]


def history_url(project_id: uuid.UUID, workflow_id: uuid.UUID | None = None) -> str:
    """The project's history, filtered to failures (and one workflow)."""
    pairs = [("status", s) for s in FAILURE_STATES]
    if workflow_id is not None:
        pairs.append(("workflow_id", str(workflow_id)))
    return f"{get_settings().public_url}/projects/{project_id}/history?{urlencode(pairs)}"


def alert_mail(alert: FailureAlert) -> tuple[str, str]:
    """(subject, body) of one failure alert."""
    step = f' at step "{alert.step_name}"' if alert.step_name else ""
    subject = f'[{alert.project_name}] Run {alert.state}: "{alert.workflow_name}"{step}'
    when = f"{alert.finished_at:%Y-%m-%d %H:%M:%S} UTC" if alert.finished_at else "just now"
    body = [
        f'A run of the workflow "{alert.workflow_name}" in the project "{alert.project_name}" '
        f"ended {alert.state}{step} ({when}).",
        "",
        f"Error: {alert.error}",
        "",
        f"See the failed step: {alert.url}",
        f"Run: {alert.run_id}   Work order: {alert.work_order_id}",
        "",
        *_footer(alert.project_id),
    ]
    return subject, "\n".join(body) + "\n"


def summary_mail(summary: Summary, project: Project, workflow: Workflow) -> tuple[str, str]:
    """(subject, body) closing a throttle window: how many more failed, the usual error."""
    minutes = round((summary.window_end - summary.window_start).total_seconds() / 60)
    span = "hour" if minutes == 60 else f"{minutes} minutes"
    runs = "run" if summary.count == 1 else "runs"
    subject = f'[{project.name}] {summary.count} more {runs} of "{workflow.name}" failed'
    body = [
        f'{summary.count} more {runs} of "{workflow.name}" failed in the last {span} '
        f"(from {summary.window_start:%H:%M} to {summary.window_end:%H:%M} UTC); "
        f"most common error: {summary.most_common_error or 'unknown'}",
        "",
        "To keep your inbox usable, alerts about one workflow are limited to "
        f"{get_settings().alert_max_per_window} per window; this summary covers the rest.",
        "",
        f"See them all: {history_url(project.id, workflow.id)}",
        "",
        *_footer(project.id),
    ]
    return subject, "\n".join(body) + "\n"


def summary_payload(summary: Summary, project: Project, workflow: Workflow) -> dict[str, Any]:
    return {
        "type": "run_failures_summary",
        "project_id": str(project.id),
        "project_name": project.name,
        "workflow_id": str(workflow.id),
        "workflow_name": workflow.name,
        "count": summary.count,
        "most_common_error": summary.most_common_error,
        "window_start": summary.window_start.isoformat(),
        "window_end": summary.window_end.isoformat(),
        "url": history_url(project.id, workflow.id),
    }


def _footer(project_id: uuid.UUID) -> list[str]:
    return [
        "You get this email because failure alerts are on for you in this project.",
        "Change them in the project's settings: "
        f"{get_settings().public_url}/projects/{project_id}/settings#alerts",
    ]
