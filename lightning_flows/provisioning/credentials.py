"""The `credentials` of a project document: existing credentials, found by owner and name.

A spec never carries secrets. Each entry names a credential by its owner's
email and its name (an `id` a client made up is resolved that way too, as
Lightning does); it must exist already. Provisioning shares it with the
project when the person provisioning owns it (or is a superuser); anyone
else's credential must have been shared by its owner.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlmodel import Session, func, select

from lightning_flows.accounts.models import User
from lightning_flows.credentials.models import Credential, ProjectCredential
from lightning_flows.projects.models import Project
from lightning_flows.provisioning.spec import ProjectSpec


@dataclass
class CredentialLinks:
    """Spec credential keys resolved to project-credential ids (some still to be linked)."""

    ids: dict[str, uuid.UUID] = field(default_factory=dict)
    hints: dict[uuid.UUID, str] = field(default_factory=dict)
    pending: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)  # new link id -> credential
    aliases: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)  # client's id -> link id

    def resolve_id(self, pc_id: uuid.UUID | None) -> uuid.UUID | None:
        """A job's `project_credential_id`, with an id the client made up resolved."""
        return None if pc_id is None else self.aliases.get(pc_id, pc_id)

    def link(self, session: Session, project_id: uuid.UUID) -> None:
        """Share the pending credentials with the (now existing) project."""
        for pc_id, credential_id in self.pending.items():
            session.add(
                ProjectCredential(id=pc_id, project_id=project_id, credential_id=credential_id)
            )
        if self.pending:
            session.flush()


def resolve_credentials(
    session: Session,
    user: User,
    project: Project | None,
    spec: ProjectSpec,
    problems: list[dict[str, str]],
) -> CredentialLinks:
    links = CredentialLinks()
    for key, entry in spec.credentials.items():
        if entry.delete:
            continue
        loc = f"credentials.{key}"
        credential = session.exec(
            select(Credential)
            .join(User, User.id == Credential.user_id)  # type: ignore[arg-type]
            .where(func.lower(User.email) == entry.owner.lower(), Credential.name == entry.name)
        ).first()
        if credential is None:
            problems.append(
                {"loc": loc, "message": f"no credential '{entry.name}' owned by {entry.owner}"}
            )
            continue
        shared = None
        if project is not None:
            shared = session.exec(
                select(ProjectCredential).where(
                    ProjectCredential.project_id == project.id,
                    ProjectCredential.credential_id == credential.id,
                )
            ).first()
        if shared is not None:
            pc_id = shared.id
        elif credential.user_id == user.id or user.is_superuser:
            # OpenFn's CLI makes up an id for a credential its state lacks: the new
            # link takes it, so the CLI's next state and the server agree.
            free = entry.id is not None and session.get(ProjectCredential, entry.id) is None
            pc_id = uuid.uuid4()
            if free and entry.id is not None and entry.id not in links.pending:
                pc_id = entry.id
            links.pending[pc_id] = credential.id
        else:
            problems.append(
                {
                    "loc": loc,
                    "message": f"credential '{entry.name}' of {entry.owner} is not shared with "
                    "this project; only its owner can share it",
                }
            )
            continue
        links.ids[key] = pc_id
        links.hints[pc_id] = key
        if entry.id is not None:
            links.aliases[entry.id] = pc_id
    return links
