"""Who is using the builder, what they may do in the project, and the URLs it links to.

Pages use `SessionUser` (anonymous visitors are sent to the login page); the
builder's JSON and fragment endpoints use the API's `CurrentUser` (a bearer
token, or the session cookie plus the `X-CSRF-Token` header for changes).
Every check goes through the shared policy.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlmodel import Session

from lightning_flows.accounts.models import User
from lightning_flows.accounts.policy import Action, authorize, is_allowed
from lightning_flows.projects.models import Project


@dataclass(frozen=True)
class Access:
    """What the user may do with a project's workflows (controls are shown accordingly)."""

    user: User
    project: Project
    role: str | None

    def can(self, action: Action) -> bool:
        return is_allowed(self.role, action, superuser=self.user.is_superuser)

    @property
    def can_edit(self) -> bool:
        return self.can(Action.WRITE_WORKFLOWS)

    @property
    def can_run(self) -> bool:
        return self.can(Action.RUN_WORKFLOWS)

    @property
    def can_manage_auth(self) -> bool:
        return self.can(Action.MANAGE_WEBHOOK_AUTH)


def project_access(
    session: Session, user: User, project_id: uuid.UUID, action: Action = Action.READ_WORKFLOWS
) -> Access:
    """Authorize `action` in the project (raises NotFound/Forbidden) and describe the access."""
    membership = authorize(session, user, action, project_id)
    project = session.get(Project, project_id)
    assert project is not None  # noqa: S101  # nosec B101
    return Access(user=user, project=project, role=membership.role if membership else None)


# --- URLs of the builder and of the pages it links to -----------------------------


def builder_url(project_id: uuid.UUID | str, workflow_id: uuid.UUID | str | None = None) -> str:
    """The builder page of a workflow (or of a new one)."""
    return f"/projects/{project_id}/workflows/{workflow_id or 'new'}"


def run_url(project_id: uuid.UUID | str, run_id: uuid.UUID | str) -> str:
    """The run inspector page of a run."""
    return f"/projects/{project_id}/runs/{run_id}"


def api_base(project_id: uuid.UUID | str) -> str:
    """Prefix of the builder's own JSON and fragment endpoints."""
    return f"/projects/{project_id}/builder"
