"""Credentials: create, read (masked), edit, share with projects, transfer, delete.

A credential is its owner's: only the owner (or a superuser) reads, edits,
transfers or deletes it. Sharing it with a project needs `use_credentials`
there (editor and up). Every change is audited with field names only.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select, update

from lightning_flows.accounts.models import User
from lightning_flows.accounts.policy import Action, authorize
from lightning_flows.audit import service as audit
from lightning_flows.core.errors import Conflict, InvalidInput, NotFound
from lightning_flows.core.models import touch
from lightning_flows.credentials import validation
from lightning_flows.credentials.models import Credential, ProjectCredential
from lightning_flows.credentials.oauth import oauth_status
from lightning_flows.credentials.schemas import (
    CredentialCreate,
    CredentialPublic,
    CredentialUpdate,
    OwnerPublic,
    ProjectCredentialItem,
    ProjectCredentialPublic,
)
from lightning_flows.projects.models import Project, ProjectUser
from lightning_flows.workflows.models import Job


def create_credential(session: Session, owner: User, data: CredentialCreate) -> Credential:
    schema_name = validation.normalize_schema_name(data.schema_name)
    validation.validate_body(validation.json_schema_for(schema_name), data.body)
    credential = Credential(
        name=data.name, user_id=owner.id, schema_name=schema_name, production=data.production
    )
    credential.body = data.body
    session.add(credential)
    _flush_unique(session, credential.name)
    audit.record(
        session,
        "created",
        "credential",
        credential.id,
        owner.id,
        after={"name": credential.name, "schema": schema_name, "production": data.production},
    )
    _share(session, credential, set(data.project_ids), owner)
    session.commit()
    return credential


def list_credentials(session: Session, user: User) -> list[Credential]:
    """The credentials `user` owns, by name."""
    return list(
        session.exec(
            select(Credential).where(Credential.user_id == user.id).order_by(col(Credential.name))
        ).all()
    )


def get_credential(session: Session, user: User, credential_id: uuid.UUID) -> Credential:
    """A credential its owner (or a superuser) may manage; NotFound for anyone else."""
    credential = session.get(Credential, credential_id)
    if credential is None or (credential.user_id != user.id and not user.is_superuser):
        raise NotFound("Credential not found.")
    return credential


def update_credential(
    session: Session, user: User, credential_id: uuid.UUID, data: CredentialUpdate
) -> Credential:
    credential = get_credential(session, user, credential_id)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for field in ("name", "production"):
        value = getattr(data, field)
        if value is not None and value != getattr(credential, field):
            before[field], after[field] = getattr(credential, field), value
            setattr(credential, field, value)
    body_fields: list[str] = []
    if data.body is not None:
        schema = validation.json_schema_for(credential.schema_name)
        merged, body_fields = validation.merge_edit(schema, dict(credential.body), data.body)
        validation.validate_body(schema, merged)
        if body_fields:
            credential.body = merged
    if before or body_fields:
        touch(credential)
        session.add(credential)
        _flush_unique(session, credential.name)
        audit.record(
            session,
            "updated",
            "credential",
            credential.id,
            user.id,
            before=before,
            after=after,
            details={"body_fields": body_fields} if body_fields else None,
        )
    if data.project_ids is not None:
        _share(session, credential, set(data.project_ids), user)
    session.commit()
    return credential


def delete_credential(
    session: Session, user: User, credential_id: uuid.UUID, *, reason: str | None = None
) -> None:
    """Delete a credential; jobs that used it lose it (listed in the audit event)."""
    credential = get_credential(session, user, credential_id)
    _delete(session, credential, user.id, reason)
    session.commit()


def _delete(
    session: Session, credential: Credential, actor_id: uuid.UUID | None, reason: str | None
) -> None:
    links = _links(session, credential.id)
    for link in links:
        _unlink(session, credential, link, actor_id)
    audit.record(
        session,
        "deleted",
        "credential",
        credential.id,
        actor_id,
        before={"name": credential.name, "schema": credential.schema_name},
        details={"reason": reason} if reason else None,
    )
    session.delete(credential)
    session.flush()


def purge_owned_by(session: Session, owner: User, actor_id: uuid.UUID | None) -> int:
    """Delete every credential of a user being deleted; caller commits. Returns the count."""
    credentials = session.exec(select(Credential).where(Credential.user_id == owner.id)).all()
    for credential in credentials:
        _delete(session, credential, actor_id, "owner_deleted")
    return len(credentials)


def transfer_credential(
    session: Session, user: User, credential_id: uuid.UUID, email: str
) -> Credential:
    """Give a credential to another user, who must be a member of every project using it."""
    credential = get_credential(session, user, credential_id)
    receiver = session.exec(select(User).where(User.email == email.strip().lower())).first()
    if receiver is None or receiver.disabled:
        raise InvalidInput(f"email: no active user with email {email}.")
    if receiver.id == credential.user_id:
        raise InvalidInput("email: that user already owns this credential.")
    missing = []
    for link in _links(session, credential.id):
        member = session.exec(
            select(ProjectUser).where(
                ProjectUser.project_id == link.project_id, ProjectUser.user_id == receiver.id
            )
        ).first()
        if member is None:
            project = session.get(Project, link.project_id)
            missing.append(project.name if project else str(link.project_id))
    if missing:
        raise InvalidInput(
            f"email: {receiver.email} is not a member of {', '.join(sorted(missing))}, where "
            "this credential is used; add them to those projects or unshare it first."
        )
    previous = credential.user_id
    credential.user_id = receiver.id
    touch(credential)
    session.add(credential)
    _flush_unique(session, credential.name, receiver=True)
    audit.record(
        session,
        "transferred",
        "credential",
        credential.id,
        user.id,
        before={"owner_id": str(previous)},
        after={"owner_id": str(receiver.id)},
    )
    session.commit()
    return credential


def list_for_project(session: Session, project_id: uuid.UUID) -> list[ProjectCredentialItem]:
    rows = session.exec(
        select(ProjectCredential, Credential, User)
        .join(Credential, Credential.id == ProjectCredential.credential_id)  # type: ignore[arg-type]
        .join(User, User.id == Credential.user_id)  # type: ignore[arg-type]
        .where(ProjectCredential.project_id == project_id)
        .order_by(col(Credential.name))
    ).all()
    return [
        ProjectCredentialItem(
            id=link.id,
            credential_id=cred.id,
            name=cred.name,
            schema_name=cred.schema_name,
            production=cred.production,
            owner=OwnerPublic(id=owner.id, email=owner.email),
        )
        for link, cred, owner in rows
    ]


def to_public(session: Session, credential: Credential) -> CredentialPublic:
    owner = session.get(User, credential.user_id)
    assert owner is not None  # noqa: S101  # nosec B101
    schema = validation.json_schema_for(credential.schema_name)
    oauth = None
    if credential.schema_name == validation.OAUTH:
        oauth = oauth_status(credential.oauth_token)
    return CredentialPublic(
        id=credential.id,
        name=credential.name,
        schema_name=credential.schema_name,
        production=credential.production,
        owner=OwnerPublic(id=owner.id, email=owner.email),
        project_credentials=[
            ProjectCredentialPublic(id=link.id, project_id=link.project_id)
            for link in _links(session, credential.id)
        ],
        body=validation.masked(schema, dict(credential.body)),
        oauth=oauth,
        inserted_at=credential.inserted_at,
        updated_at=credential.updated_at,
    )


def _links(session: Session, credential_id: uuid.UUID) -> list[ProjectCredential]:
    return list(
        session.exec(
            select(ProjectCredential)
            .where(ProjectCredential.credential_id == credential_id)
            .order_by(col(ProjectCredential.inserted_at), col(ProjectCredential.id))
        ).all()
    )


def _share(session: Session, credential: Credential, wanted: set[uuid.UUID], actor: User) -> None:
    """Make the credential shared with exactly `wanted` projects (audited both ways)."""
    current = {link.project_id: link for link in _links(session, credential.id)}
    for project_id in sorted(wanted - set(current), key=str):
        authorize(session, actor, Action.USE_CREDENTIALS, project_id)
        link = ProjectCredential(project_id=project_id, credential_id=credential.id)
        session.add(link)
        session.flush()
        audit.record(
            session,
            "added_to_project",
            "credential",
            credential.id,
            actor.id,
            after={"project_id": str(project_id), "project_credential_id": str(link.id)},
            project_id=project_id,
        )
    for project_id in sorted(set(current) - wanted, key=str):
        _unlink(session, credential, current[project_id], actor.id)


def _unlink(
    session: Session, credential: Credential, link: ProjectCredential, actor_id: uuid.UUID | None
) -> None:
    jobs = session.exec(select(Job.id).where(Job.project_credential_id == link.id)).all()
    audit.record(
        session,
        "removed_from_project",
        "credential",
        credential.id,
        actor_id,
        before={"project_id": str(link.project_id), "project_credential_id": str(link.id)},
        details={"jobs_losing_credential": [str(j) for j in jobs]} if jobs else None,
        project_id=link.project_id,
    )
    # The foreign key does this too; explicit, so it holds whatever the backend enforces.
    session.exec(  # type: ignore[call-overload]
        update(Job)
        .where(col(Job.project_credential_id) == link.id)
        .values(project_credential_id=None)
    )
    session.delete(link)
    session.flush()


def _flush_unique(session: Session, name: str, *, receiver: bool = False) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        who = "The receiving user already has" if receiver else "You already have"
        raise Conflict(f"{who} a credential named '{name}'; choose another name.") from exc
