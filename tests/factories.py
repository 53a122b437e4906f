"""Composable factories for users, projects, workflows and runs.

wf = make_workflow(session, project, jobs=["a", "b"], trigger="webhook",
                   edges=[("trigger", "a"), ("a", "b", "on_job_success")])
"""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from sqlmodel import Session, select

from lightning_flows.accounts import service as accounts
from lightning_flows.accounts.models import User
from lightning_flows.accounts.schemas import UserCreate
from lightning_flows.projects import service as projects
from lightning_flows.projects.models import Project, ProjectUser, Role
from lightning_flows.projects.schemas import ProjectCreate
from lightning_flows.runs import service as runs
from lightning_flows.runs.models import DataclipType
from lightning_flows.workflows import service as workflows
from lightning_flows.workflows.models import Workflow
from lightning_flows.workflows.schemas import (
    EdgeDoc,
    JobDoc,
    TriggerDoc,
    WorkflowDocument,
    WorkflowPublic,
)

__all__ = ["Project", "User"]

PASSWORD = "correct horse battery staple"
_seq = itertools.count(1)


def make_user(session: Session, *, email: str | None = None, superuser: bool = False) -> User:
    email = email or f"user{next(_seq)}@example.org"
    return accounts.create_user(
        session, UserCreate(email=email, password=PASSWORD, is_superuser=superuser)
    )


def auth_headers(session: Session, user: User) -> dict[str, str]:
    _token, plaintext = accounts.create_api_token(session, user, "test")
    return {"Authorization": f"Bearer {plaintext}"}


def make_project(session: Session, *, owner: User | None = None, **fields: Any) -> Project:
    owner = owner or make_user(session)
    fields.setdefault("name", f"project-{next(_seq)}")
    return projects.create_project(session, ProjectCreate(**fields), owner)


def add_member(session: Session, project: Project, user: User, role: Role) -> ProjectUser:
    member = ProjectUser(project_id=project.id, user_id=user.id, role=role.value)
    session.add(member)
    session.commit()
    return member


Edge = tuple[str, str] | tuple[str, str, str] | tuple[str, str, str, str]


def workflow_doc(
    *,
    name: str | None = None,
    jobs: list[str] | dict[str, str] | None = None,
    trigger: str | None = "webhook",
    edges: list[Edge] | None = None,
    adaptor: str = "@openfn/language-common@3.3.4",
    **trigger_fields: Any,
) -> WorkflowDocument:
    """A document with client ids. `jobs` is a list of names or {name: body}.

    Edges are `(source, target[, condition_type[, expression]])` where source
    "trigger" means the trigger. Without `edges`, jobs are chained in order.
    """
    bodies = jobs if isinstance(jobs, dict) else {n: "fn(state => state);" for n in jobs or ["a"]}
    job_docs = {
        n: JobDoc(id=uuid.uuid4(), name=n, body=b, adaptor=adaptor) for n, b in bodies.items()
    }
    trig = TriggerDoc(id=uuid.uuid4(), type=trigger, **trigger_fields) if trigger else None  # type: ignore[arg-type]
    names = list(job_docs)
    if edges is None:
        edges = ([("trigger", names[0])] if trig else []) + list(itertools.pairwise(names))  # type: ignore[arg-type]
    edge_docs = []
    for edge in edges:
        source, target, *rest = edge
        edge_docs.append(
            EdgeDoc(
                id=uuid.uuid4(),
                source_trigger_id=trig.id if source == "trigger" and trig else None,
                source_job_id=None if source == "trigger" else job_docs[source].id,
                target_job_id=job_docs[target].id,
                condition_type=rest[0] if rest else "always",  # type: ignore[arg-type]
                condition_expression=rest[1] if len(rest) > 1 else None,
            )
        )
    return WorkflowDocument(
        name=name or f"workflow-{next(_seq)}",
        jobs=list(job_docs.values()),
        triggers=[trig] if trig else [],
        edges=edge_docs,
    )


def make_workflow(
    session: Session, project: Project, doc: WorkflowDocument | None = None, **doc_fields: Any
) -> WorkflowPublic:
    return workflows.create_workflow(
        session, project.id, doc or workflow_doc(**doc_fields), actor_id=None
    )


def make_run(
    session: Session,
    workflow: WorkflowPublic,
    body: Any = None,
    *,
    start_job: str | None = None,
) -> runs.Enqueued:
    """A work order with one `available` run, started by the trigger or a named job."""
    wf = session.get(Workflow, workflow.id)
    assert wf is not None
    snapshot = workflows.latest_snapshot(session, workflow.id)
    start_job_id = next(j.id for j in workflow.jobs if j.name == start_job) if start_job else None
    return runs.create_work_order(
        session,
        workflow=wf,
        snapshot=snapshot,
        body=body if body is not None else {"data": {}},
        dataclip_type=DataclipType.SAVED_INPUT if start_job else DataclipType.HTTP_REQUEST,
        trigger_id=None if start_job_id else workflow.triggers[0].id,
        start_job_id=start_job_id,
    )


def make_credential(
    session: Session,
    project: Project,
    body: dict[str, Any],
    *,
    owner: User | None = None,
    name: str | None = None,
    schema: str = "raw",
) -> uuid.UUID:
    """A credential shared with `project`; returns the project_credential id jobs reference."""
    from lightning_flows.credentials.models import Credential, ProjectCredential

    owner = owner or make_user(session)
    credential = Credential(
        name=name or f"credential-{next(_seq)}", user_id=owner.id, schema_name=schema, body=body
    )
    session.add(credential)
    session.flush()
    link = ProjectCredential(project_id=project.id, credential_id=credential.id)
    session.add(link)
    session.commit()
    return link.id


# --- security (credentials, accounts) ------------------------------------------------


def make_owned_credential(
    session: Session,
    owner: User,
    body: dict[str, Any],
    *,
    schema: str = "raw",
    projects: tuple[Project, ...] = (),
    name: str | None = None,
) -> Any:
    """A credential created through the service (validated, audited), shared with `projects`."""
    from lightning_flows.credentials import service as credentials
    from lightning_flows.credentials.schemas import CredentialCreate

    data = CredentialCreate(
        name=name or f"credential-{next(_seq)}",
        schema=schema,
        body=body,
        project_ids=[p.id for p in projects],
    )
    return credentials.create_credential(session, owner, data)


def enable_mfa(session: Session, user: User) -> tuple[str, list[str]]:
    """Turn on TOTP MFA for `user`; returns (secret, backup codes).

    The confirmation code's time step is forgotten so a test may sign in at once.
    """
    import pyotp

    from lightning_flows.accounts import mfa

    secret = mfa.start_enrolment(session, user)
    codes = mfa.confirm_enrolment(session, user, pyotp.TOTP(secret).now())
    user.mfa_last_step = None
    session.add(user)
    session.commit()
    return secret, codes


def select_links(credential_id: uuid.UUID) -> Any:
    """A query for the project_credentials of a credential."""
    from lightning_flows.credentials.models import ProjectCredential

    return select(ProjectCredential).where(ProjectCredential.credential_id == credential_id)
