"""Daily, weekly and monthly digests: each opted-in member gets, per project, the
runs, failures and top errors of the last complete period (UTC).

`send_digests` is run by the `lightning-flows-digests` maintenance flow on its
schedule; any run after a period ended sends that period once (a delivery row per
member and period), so a missed or repeated schedule neither skips nor doubles a
digest. `build_digest` computes one project's digest for any period.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from lightning_flows.accounts.models import User
from lightning_flows.core import mail
from lightning_flows.core.config import get_settings
from lightning_flows.core.db import session_scope
from lightning_flows.core.timeutil import utcnow
from lightning_flows.notifications.failures import FAILURE_STATES, history_url
from lightning_flows.notifications.models import DigestDelivery
from lightning_flows.projects.models import Digest, Project, ProjectUser
from lightning_flows.runs.models import Run, Step, WorkOrder
from lightning_flows.workflows.models import Workflow

log = logging.getLogger(__name__)
TOP_ERRORS = 5


@dataclass
class WorkflowLine:
    name: str
    runs: int = 0
    failures: int = 0


@dataclass
class DigestReport:
    project_id: uuid.UUID
    project_name: str
    start: datetime
    end: datetime
    runs: int = 0
    by_state: dict[str, int] = field(default_factory=dict)
    workflows: list[WorkflowLine] = field(default_factory=list)
    top_errors: list[tuple[str, int]] = field(default_factory=list)

    @property
    def failures(self) -> int:
        return sum(n for state, n in self.by_state.items() if state in FAILURE_STATES)


def period_for(frequency: Digest, now: datetime) -> tuple[datetime, datetime]:
    """The last complete day, week (Monday to Monday) or calendar month before `now`."""
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if frequency == Digest.DAILY:
        return today - timedelta(days=1), today
    if frequency == Digest.WEEKLY:
        monday = today - timedelta(days=today.weekday())
        return monday - timedelta(days=7), monday
    first = today.replace(day=1)
    return (first - timedelta(days=1)).replace(day=1), first


def build_digest(
    session: Session, project_id: uuid.UUID, start: datetime, end: datetime
) -> DigestReport:
    """Runs that ended in [start, end): counts by state and workflow, the top errors."""
    project = session.get(Project, project_id)
    report = DigestReport(project_id, project.name if project else "?", start, end)
    in_period = (
        col(WorkOrder.project_id) == project_id,
        col(WorkOrder.last_activity) >= start,  # the (project_id, last_activity) index
        col(Run.finished_at) >= start,
        col(Run.finished_at) < end,
    )
    rows = session.exec(
        select(Workflow.name, Run.state, func.count())
        .select_from(Run)
        .join(WorkOrder, col(WorkOrder.id) == col(Run.work_order_id))
        .join(Workflow, col(Workflow.id) == col(WorkOrder.workflow_id))
        .where(*in_period)
        .group_by(col(Workflow.name), col(Run.state))
    ).all()
    states: Counter[str] = Counter()
    lines: dict[str, WorkflowLine] = {}
    for name, state, count in rows:
        states[state] += count
        line = lines.setdefault(name, WorkflowLine(name))
        line.runs += count
        line.failures += count if state in FAILURE_STATES else 0
    report.runs = sum(states.values())
    report.by_state = dict(states.most_common())
    report.workflows = sorted(lines.values(), key=lambda w: (-w.failures, -w.runs, w.name))
    errors = session.exec(
        select(Step.error_type, Step.error_message, func.count())
        .select_from(Step)
        .join(Run, col(Run.id) == col(Step.run_id))
        .join(WorkOrder, col(WorkOrder.id) == col(Run.work_order_id))
        .where(*in_period, col(Step.exit_reason) != "success", col(Run.state).in_(FAILURE_STATES))
        .group_by(col(Step.error_type), col(Step.error_message))
        .order_by(func.count().desc())
        .limit(TOP_ERRORS)
    ).all()
    report.top_errors = [
        (": ".join(p for p in (kind, (message or "")[:300]) if p) or "unknown", count)
        for kind, message, count in errors
    ]
    return report


def digest_mail(report: DigestReport, frequency: Digest) -> tuple[str, str]:
    """(subject, body) of one project's digest."""
    label = {Digest.DAILY: "Daily", Digest.WEEKLY: "Weekly", Digest.MONTHLY: "Monthly"}[frequency]
    last = report.end - timedelta(seconds=1)
    span = f"{report.start:%Y-%m-%d}" + (
        "" if frequency == Digest.DAILY else f" to {last:%Y-%m-%d}"
    )
    runs = f"{report.runs} run{'' if report.runs == 1 else 's'}"
    subject = f"[{report.project_name}] {label} digest {span}: {runs}, {report.failures} failed"
    body = [f'{label} digest of the project "{report.project_name}", {span} (UTC).', ""]
    if report.runs == 0:
        body.append("No runs finished in this period.")
    else:
        states = ", ".join(f"{n} {state}" for state, n in report.by_state.items())
        body += [f"Runs: {report.runs} ({states})", f"Failures: {report.failures}", ""]
        body += ["By workflow (runs / failed):"]
        body += [f"  {w.name}: {w.runs} / {w.failures}" for w in report.workflows]
        if report.top_errors:
            body += ["", "Top errors:"]
            body += [f"  {count} x {error}" for error, count in report.top_errors]
        if report.failures:
            body += ["", f"See the failures: {history_url(report.project_id)}"]
    body += [
        "",
        f"You get this digest because you chose {frequency.value} digests for this project.",
        "Change it in the project's settings: "
        f"{get_settings().public_url}/projects/{report.project_id}/settings#alerts",
    ]
    return subject, "\n".join(body) + "\n"


def send_digests(now: datetime | None = None) -> int:
    """Send every due digest (each member and period once); returns how many were sent."""
    if not get_settings().smtp_host:
        return 0
    now = now or utcnow()
    sent = 0
    for frequency in (Digest.DAILY, Digest.WEEKLY, Digest.MONTHLY):
        start, end = period_for(frequency, now)
        with session_scope() as session:
            members = session.exec(
                select(ProjectUser.project_id, User.id, User.email)
                .join(User, col(User.id) == col(ProjectUser.user_id))
                .join(Project, col(Project.id) == col(ProjectUser.project_id))
                .where(
                    col(ProjectUser.digest) == frequency.value,
                    col(User.disabled).is_(False),
                    col(Project.scheduled_deletion_at).is_(None),
                )
                .order_by(col(ProjectUser.project_id))
            ).all()
        reports: dict[uuid.UUID, DigestReport] = {}
        for project_id, user_id, email in members:
            delivery = _claim(project_id, user_id, frequency, start)
            if delivery is None:
                continue  # sent already (or by a concurrent run)
            if project_id not in reports:
                with session_scope() as session:
                    reports[project_id] = build_digest(session, project_id, start, end)
            try:
                mail.send_mail(email, *digest_mail(reports[project_id], frequency))
                sent += 1
            except mail.MailUnavailable:
                log.warning("a %s digest could not be sent; the next run tries again", frequency)
                with session_scope() as session:
                    row = session.get(DigestDelivery, delivery)
                    if row is not None:
                        session.delete(row)
    return sent


def _claim(
    project_id: uuid.UUID, user_id: uuid.UUID, frequency: Digest, start: datetime
) -> uuid.UUID | None:
    row = DigestDelivery(
        project_id=project_id, user_id=user_id, frequency=frequency.value, period_start=start
    )
    try:
        with session_scope() as session:
            session.add(row)
    except IntegrityError:
        return None
    return row.id
