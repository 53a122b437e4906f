"""What the builder page hands its script: the document, choices for the pickers, last runs.

Everything goes into one JSON object rendered in a `<script type="application/json">`
tag (Jinja's `tojson` escapes it for HTML), so the page needs no extra requests to open.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlmodel import Session, col, select

from lightning_flows.core.node_runtime import get_repository
from lightning_flows.credentials.models import (
    Credential,
    ProjectCredential,
    TriggerWebhookAuthMethod,
    WebhookAuthMethod,
)
from lightning_flows.limits.policy import effective_run_limits
from lightning_flows.runs.models import Dataclip, Run, Step, WorkOrder
from lightning_flows.workflows.schemas import WorkflowPublic
from ui_extension.builder.access import Access, run_url

PREVIEW_CHARS = 10_000
RECENT_RUNS = 20
NAMED_INPUTS = 200
DEFAULT_ADAPTOR = "@openfn/language-common@latest"
KNOWN_ADAPTORS = (
    *("common", "http", "dhis2", "commcare", "kobotoolbox", "salesforce", "postgresql"),
    *("googlesheets", "openmrs", "primero", "fhir", "mailchimp", "msgraph", "mysql"),
)
STARTER_BODY = "// Add operations from the adaptor's list on the right.\nfn(state => state);\n"


def new_document() -> dict[str, Any]:
    """A workflow to start from: a webhook trigger feeding one job."""
    trigger_id, job_id = str(uuid.uuid4()), str(uuid.uuid4())
    return {
        "name": "New workflow",
        "concurrency": None,
        "retry_lost_runs": False,
        "on_worker_loss": "resume",
        "positions": {},
        "lock_version": None,
        "jobs": [{"id": job_id, "name": "Job 1", "adaptor": DEFAULT_ADAPTOR, "body": STARTER_BODY}],
        "triggers": [{"id": trigger_id, "type": "webhook", "enabled": True}],
        "edges": [
            {
                "id": str(uuid.uuid4()),
                "source_trigger_id": trigger_id,
                "target_job_id": job_id,
                "condition_type": "always",
                "enabled": True,
            }
        ],
    }


def adaptor_choices() -> list[dict[str, Any]]:
    """Adaptor names with suggested versions: the bundled one (if any) and `latest`."""
    repository = get_repository()
    bundled_root = repository.bundled_dir / "@openfn"
    names = {f"@openfn/language-{short}" for short in KNOWN_ADAPTORS}
    if bundled_root.is_dir():
        names |= {f"@openfn/{p.name}" for p in bundled_root.glob("language-*")}
    choices = []
    for name in sorted(names):
        bundled = repository.bundled_version(name)
        choices.append({"name": name, "versions": [v for v in (bundled, "latest") if v]})
    return choices


def credential_choices(session: Session, project_id: uuid.UUID) -> list[dict[str, str]]:
    rows = session.exec(
        select(ProjectCredential, Credential)
        .join(Credential, col(Credential.id) == col(ProjectCredential.credential_id))
        .where(col(ProjectCredential.project_id) == project_id)
        .order_by(col(Credential.name))
    ).all()
    return [{"id": str(pc.id), "name": cred.name} for pc, cred in rows]


def auth_methods(session: Session, project_id: uuid.UUID) -> list[dict[str, str]]:
    rows = session.exec(
        select(WebhookAuthMethod)
        .where(col(WebhookAuthMethod.project_id) == project_id)
        .order_by(col(WebhookAuthMethod.name))
    ).all()
    return [{"id": str(m.id), "name": m.name, "auth_type": m.auth_type} for m in rows]


def trigger_auth(session: Session, trigger_ids: list[uuid.UUID]) -> dict[str, list[str]]:
    """The auth methods each trigger requires, keyed by trigger id."""
    found: dict[str, list[str]] = {str(t): [] for t in trigger_ids}
    if trigger_ids:
        links = session.exec(
            select(TriggerWebhookAuthMethod).where(
                col(TriggerWebhookAuthMethod.trigger_id).in_(trigger_ids)
            )
        ).all()
        for link in links:
            found[str(link.trigger_id)].append(str(link.webhook_auth_method_id))
    return found


def preview(clip: Dataclip | None) -> dict[str, Any] | None:
    """A dataclip as shown in the inspector: pretty JSON, cut at PREVIEW_CHARS."""
    if clip is None:
        return None
    if clip.wiped_at is not None:
        return {"id": str(clip.id), "wiped": True, "text": "", "truncated": False}
    text = json.dumps(clip.body, indent=2, ensure_ascii=False, default=str)
    return {
        "id": str(clip.id),
        "wiped": False,
        "text": text[:PREVIEW_CHARS],
        "truncated": len(text) > PREVIEW_CHARS,
    }


def recent_activity(
    session: Session, project_id: uuid.UUID, workflow_id: uuid.UUID
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """(the newest step of each job with its input/output, recent run inputs to rerun)."""
    runs = session.exec(
        select(Run)
        .join(WorkOrder, col(WorkOrder.id) == col(Run.work_order_id))
        .where(col(WorkOrder.workflow_id) == workflow_id)
        .order_by(col(Run.inserted_at).desc())
        .limit(RECENT_RUNS)
    ).all()
    order = {run.id: i for i, run in enumerate(runs)}
    steps = session.exec(select(Step).where(col(Step.run_id).in_(list(order)))).all()
    newest: dict[uuid.UUID, Step] = {}
    for step in sorted(steps, key=lambda s: (order[s.run_id], -s.inserted_at.timestamp())):
        newest.setdefault(step.job_id, step)
    last_steps = {}
    for job_id, step in newest.items():
        last_steps[str(job_id)] = {
            "run_id": str(step.run_id),
            "run_url": f"{run_url(project_id, step.run_id)}?step={step.id}#step-{step.id}",
            "exit_reason": step.exit_reason,
            "error_message": step.error_message,
            "finished_at": step.finished_at.isoformat() if step.finished_at else None,
            "input": preview(_clip(session, step.input_dataclip_id)),
            "output": preview(_clip(session, step.output_dataclip_id)),
        }
    inputs: list[dict[str, str]] = []
    for run in runs:
        clip = _clip(session, run.dataclip_id)
        if (
            clip is None
            or clip.wiped_at is not None
            or any(i["id"] == str(clip.id) for i in inputs)
        ):
            continue
        label = f"{clip.inserted_at:%Y-%m-%d %H:%M:%S} UTC, {clip.type} ({str(clip.id)[:8]})"
        inputs.append({"id": str(clip.id), "label": label})
    return last_steps, inputs[:10]


def named_inputs(session: Session, project_id: uuid.UUID) -> list[dict[str, str]]:
    """The project's named dataclips (kept test inputs), by name, for the run pickers."""
    clips = session.exec(
        select(Dataclip.id, Dataclip.name)
        .where(
            Dataclip.project_id == project_id,
            col(Dataclip.name).is_not(None),
            col(Dataclip.wiped_at).is_(None),
        )
        .order_by(col(Dataclip.name))
        .limit(NAMED_INPUTS)
    ).all()
    return [{"id": str(clip_id), "name": str(name)} for clip_id, name in clips]


def _clip(session: Session, dataclip_id: uuid.UUID | None) -> Dataclip | None:
    return session.get(Dataclip, dataclip_id) if dataclip_id else None


def builder_data(
    session: Session,
    access: Access,
    workflow: WorkflowPublic | None,
    *,
    base_url: str,
    selected: str | None,
) -> dict[str, Any]:
    """The page's bootstrap object (see static/src/builder.js for its use)."""
    project_id = access.project.id
    document = workflow.model_dump(mode="json") if workflow else new_document()
    last_steps: dict[str, Any] = {}
    inputs: list[dict[str, str]] = []
    named = named_inputs(session, project_id)
    if workflow is not None:
        last_steps, inputs = recent_activity(session, project_id, workflow.id)
        inputs = [{"id": n["id"], "label": f"Named: {n['name']}"} for n in named] + [
            i for i in inputs if all(i["id"] != n["id"] for n in named)
        ]
    trigger_ids = [t.id for t in workflow.triggers] if workflow else []
    return {
        "project_id": str(project_id),
        "workflow_id": str(workflow.id) if workflow else None,
        "document": document,
        "selected": selected,
        "permissions": {
            "edit": access.can_edit,
            "run": access.can_run,
            "manage_auth": access.can_manage_auth,
        },
        "adaptors": adaptor_choices(),
        "credentials": credential_choices(session, project_id),
        "auth_methods": auth_methods(session, project_id),
        "trigger_auth": trigger_auth(session, trigger_ids),
        "webhook_base": f"{base_url.rstrip('/')}/i/",
        "run_limits": effective_run_limits(access.project),
        "last_steps": last_steps,
        "inputs": inputs,
        "named_inputs": named,
        "base_path": f"/projects/{project_id}/builder",
    }
