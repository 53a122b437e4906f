"""A project as a state document (keys -> ids) and as spec YAML, read from the database."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session, col, select

from lightning_flows.accounts.models import User
from lightning_flows.credentials.models import Credential, ProjectCredential
from lightning_flows.projects.models import Project
from lightning_flows.provisioning.extras import project_extras
from lightning_flows.provisioning.spec import hyphenate, retry_extension
from lightning_flows.provisioning.state import KeyAllocator, credential_key, spec_from_state
from lightning_flows.provisioning.test_cases import export_cases
from lightning_flows.provisioning.yamlio import dump_yaml
from lightning_flows.workflows import service as workflows
from lightning_flows.workflows.models import Workflow
from lightning_flows.workflows.schemas import WorkflowPublic

KeyHints = dict[uuid.UUID, str]


def project_state(session: Session, project: Project, hints: KeyHints | None = None) -> dict:
    """The state document of a project; `hints` keep the keys a client used for its ids."""
    hints = hints or {}
    credentials = _credentials(session, project.id)
    cred_keys = KeyAllocator()
    project_credentials = {
        cred_keys.take(hints.get(pc_id), credential_key(owner, name)): {
            "id": str(pc_id),
            "name": name,
            "owner": owner,
        }
        for pc_id, name, owner in credentials
    }
    live = session.exec(
        select(Workflow)
        .where(Workflow.project_id == project.id, col(Workflow.deleted_at).is_(None))
        .order_by(col(Workflow.name), col(Workflow.id))
    ).all()
    wf_keys = KeyAllocator()
    states = {}
    for wf in live:
        key = wf_keys.take(hints.get(wf.id), hyphenate(wf.name))
        states[key] = {
            **workflow_state(workflows.to_public(session, wf), hints),
            **export_cases(session, wf.id),
        }
    return {
        "id": str(project.id),
        "name": project.name,
        "description": project.description,
        "project_credentials": dict(sorted(project_credentials.items())),
        **project_extras(session, project.id, hints),
        "workflows": dict(sorted(states.items())),
    }


def workflow_state(wf: WorkflowPublic, hints: KeyHints | None = None) -> dict[str, Any]:
    """One workflow's entry in a state document."""
    hints = hints or {}
    job_keys, trig_keys, edge_keys = KeyAllocator(), KeyAllocator(), KeyAllocator()
    jobs, job_key_of = {}, {}
    for job in wf.jobs:
        key = job_keys.take(hints.get(job.id), hyphenate(job.name))
        job_key_of[job.id] = key
        jobs[key] = {
            "id": str(job.id),
            "name": job.name,
            "adaptor": job.adaptor_requested or job.adaptor,  # as written; snapshots pin
            "body": job.body,
            "project_credential_id": _str(job.project_credential_id),
            **retry_extension(job),
        }
    triggers, trig_key_of = {}, {}
    for trig in wf.triggers:
        key = trig_keys.take(hints.get(trig.id), trig.type.value)
        trig_key_of[trig.id] = key
        triggers[key] = {"id": str(trig.id), **trig.model_dump(mode="json", exclude={"id"})}
    edges = {}
    for edge in wf.edges:
        source = (
            trig_key_of.get(edge.source_trigger_id)
            if edge.source_trigger_id
            else job_key_of.get(edge.source_job_id)  # type: ignore[arg-type]
        )
        key = edge_keys.take(hints.get(edge.id), f"{source}->{job_key_of[edge.target_job_id]}")
        edges[key] = {"id": str(edge.id), **edge.model_dump(mode="json", exclude={"id"})}
    return {
        "id": str(wf.id),
        "name": wf.name,
        "lock_version": wf.lock_version,
        **({"on_worker_loss": wf.on_worker_loss} if wf.on_worker_loss != "resume" else {}),
        "jobs": dict(sorted(jobs.items())),
        "triggers": dict(sorted(triggers.items())),
        "edges": dict(sorted(edges.items())),
    }


def project_yaml(session: Session, project: Project) -> str:
    """The project's spec as byte-stable YAML (what `GET /api/provision/yaml` serves)."""
    return dump_yaml(spec_from_state(project_state(session, project)))


def _credentials(session: Session, project_id: uuid.UUID) -> list[tuple[uuid.UUID, str, str]]:
    rows = session.exec(
        select(ProjectCredential.id, Credential.name, User.email)
        .join(Credential, Credential.id == ProjectCredential.credential_id)  # type: ignore[arg-type]
        .join(User, User.id == Credential.user_id)  # type: ignore[arg-type]
        .where(ProjectCredential.project_id == project_id)
        .order_by(col(User.email), col(Credential.name))
    ).all()
    return [(pc_id, name, email) for pc_id, name, email in rows]


def _str(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)
