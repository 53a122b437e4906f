"""The usage alert email: a project reached 80% or 100% of its monthly runs."""

from __future__ import annotations

import uuid

from sqlmodel import col, select

from lightning_flows.accounts.models import User
from lightning_flows.core import mail
from lightning_flows.core.config import get_settings
from lightning_flows.core.db import session_scope
from lightning_flows.projects.models import ProjectUser, Role


def admin_emails(project_id: uuid.UUID) -> list[str]:
    """The emails of the project's owners and admins."""
    with session_scope() as session:
        return list(
            session.exec(
                select(User.email)
                .join(ProjectUser, col(ProjectUser.user_id) == col(User.id))
                .where(
                    ProjectUser.project_id == project_id,
                    col(ProjectUser.role).in_([Role.OWNER.value, Role.ADMIN.value]),
                )
                .order_by(col(User.email))
            ).all()
        )


def send_usage_alert(project_id: uuid.UUID, name: str, level: int, limit: int) -> None:
    """Email every owner and admin of the project (nothing when mail is off)."""
    if not get_settings().smtp_host:
        return
    if level >= 100:
        subject = f"[Lightning Flows] {name}: monthly run limit reached"
        consequence = (
            "New webhook requests are refused with 429 and manual runs are refused "
            "until the first of next month (UTC), unless a superuser raises the limit."
        )
    else:
        subject = f"[Lightning Flows] {name}: {level}% of the monthly run limit used"
        consequence = "When the limit is reached, new requests and manual runs are refused."
    body = (
        f"The project '{name}' has started {level}% of its {limit:,} runs for this month.\n"
        f"{consequence}\n\nSee its dashboard: {get_settings().public_url}/projects/{project_id}\n"
    )
    for to in admin_emails(project_id):
        mail.send_mail(to, subject, body)
