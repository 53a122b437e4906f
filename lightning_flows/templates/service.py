"""Workflow templates: the built-in gallery, and workflows saved as templates.

A template is project.yaml with one workflow, written and read by the projects-
as-code parser and serializer, so templates round-trip as code: a workflow saved
as a template and started again from it has the same spec. Saving drops what
belongs to one project (ids, credentials, webhook custom paths). Built-in
templates ship in `gallery/`; instance templates (made by superusers) are
offered to every project; project templates to their project only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from lightning_flows.accounts.models import User
from lightning_flows.accounts.policy import require_superuser
from lightning_flows.audit import service as audit
from lightning_flows.core.errors import Forbidden, InvalidInput, NotFound
from lightning_flows.provisioning.credentials import CredentialLinks
from lightning_flows.provisioning.export import workflow_state
from lightning_flows.provisioning.resolve import GraphResolver
from lightning_flows.provisioning.spec import WorkflowSpec, hyphenate, parse_document
from lightning_flows.provisioning.state import spec_from_state
from lightning_flows.provisioning.yamlio import dump_yaml, load_yaml
from lightning_flows.templates.models import WorkflowTemplate
from lightning_flows.templates.schemas import Scope, TemplatePublic
from lightning_flows.workflows import service as workflows
from lightning_flows.workflows.schemas import WorkflowDocument, WorkflowPublic

GALLERY = Path(__file__).parent / "gallery"
_NAMESPACE = uuid.UUID("5b0e4a0c-4c8e-4b8e-9a53-7d3c1a2f16a1")


@dataclass(frozen=True)
class Template:
    id: uuid.UUID
    name: str
    description: str
    scope: Scope
    spec: str
    project_id: uuid.UUID | None = None

    def public(self) -> TemplatePublic:
        _, wf_spec = _only_workflow(self.spec)
        trigger = next(iter(wf_spec.triggers.values()), None)
        return TemplatePublic(
            id=self.id,
            name=self.name,
            description=self.description,
            scope=self.scope,
            project_id=self.project_id,
            spec=self.spec,
            steps=[job.name or key for key, job in wf_spec.jobs.items()],
            trigger=trigger.type if trigger else None,
        )


@lru_cache
def builtin_templates() -> tuple[Template, ...]:
    """The gallery shipped with the platform, in file order."""
    found = []
    for path in sorted(GALLERY.glob("*.yaml")):
        text = path.read_text()
        doc = load_yaml(text)
        _only_workflow(text)  # a broken gallery file fails loudly, here and in the tests
        found.append(
            Template(
                id=uuid.uuid5(_NAMESPACE, path.stem),
                name=str(doc["name"]),
                description=str(doc.get("description") or ""),
                scope="builtin",
                spec=text,
            )
        )
    return tuple(found)


def list_templates(session: Session, project_id: uuid.UUID | None) -> list[Template]:
    """Built-in, then instance templates, then the project's (when one is given)."""
    statement = select(WorkflowTemplate).order_by(col(WorkflowTemplate.name))
    scope: Any = col(WorkflowTemplate.project_id).is_(None)
    if project_id is not None:
        scope = or_(scope, col(WorkflowTemplate.project_id) == project_id)
    rows = session.exec(statement.where(scope)).all()
    saved = sorted((_from_row(r) for r in rows), key=lambda t: (t.scope != "instance", t.name))
    return [*builtin_templates(), *saved]


def get_template(
    session: Session, template_id: uuid.UUID, project_id: uuid.UUID | None
) -> Template:
    """A template the project may use: built-in, the instance's, or its own."""
    for template in builtin_templates():
        if template.id == template_id:
            return template
    row = session.get(WorkflowTemplate, template_id)
    if row is None or (row.project_id is not None and row.project_id != project_id):
        raise NotFound("Template not found.")
    return _from_row(row)


def _from_row(row: WorkflowTemplate) -> Template:
    return Template(
        id=row.id,
        name=row.name,
        description=row.description,
        scope="project" if row.project_id else "instance",
        spec=row.spec,
        project_id=row.project_id,
    )


def template_spec(public: WorkflowPublic, name: str, description: str = "") -> str:
    """project.yaml of one workflow, without what ties it to one project."""
    state = {
        "name": name,
        "description": description,
        # The template's name names its workflow too: a workflow started from it gets
        # its own name, so saving that one again gives the same bytes.
        "workflows": {hyphenate(name): {**workflow_state(public), "name": name}},
    }
    spec = spec_from_state(state)
    for wf in spec["workflows"].values():
        for job in wf["jobs"].values():
            job.pop("credential", None)
        for trigger in wf["triggers"].values():
            trigger.pop("custom_path", None)
    return dump_yaml(spec)


def save_template(
    session: Session,
    user: User,
    project_id: uuid.UUID,
    workflow_id: uuid.UUID,
    name: str,
    description: str,
    scope: str,
) -> Template:
    """Save a workflow of the project as a project template, or an instance one."""
    if scope == "instance":
        try:
            require_superuser(user)
        except Forbidden as exc:
            raise Forbidden("Only a superuser can save an instance template.") from exc
    public = workflows.to_public(session, workflows.get_workflow(session, project_id, workflow_id))
    row = WorkflowTemplate(
        project_id=project_id if scope == "project" else None,
        name=name,
        description=description,
        spec=template_spec(public, name, description),
        created_by=user.id,
    )
    session.add(row)
    audit.record(
        session, "created", "workflow_template", row.id, user.id,
        after={"name": name, "scope": scope, "workflow_id": str(workflow_id)},
        project_id=project_id,
    )  # fmt: skip
    session.commit()
    return _from_row(row)


def delete_template(session: Session, user: User, template_id: uuid.UUID) -> uuid.UUID | None:
    """Delete a saved template; returns its project (None: an instance template)."""
    if any(t.id == template_id for t in builtin_templates()):
        raise Forbidden("Built-in templates cannot be deleted.")
    row = session.get(WorkflowTemplate, template_id)
    if row is None:
        raise NotFound("Template not found.")
    project_id = row.project_id
    audit.record(
        session, "deleted", "workflow_template", row.id, user.id, before={"name": row.name},
        project_id=project_id,
    )  # fmt: skip
    session.delete(row)
    session.commit()
    return project_id


def template_project(session: Session, template_id: uuid.UUID) -> uuid.UUID | None:
    """The project a saved template belongs to (None: built-in or instance)."""
    row = session.get(WorkflowTemplate, template_id)
    if row is None and not any(t.id == template_id for t in builtin_templates()):
        raise NotFound("Template not found.")
    return row.project_id if row else None


def workflow_document(session: Session, template: Template, name: str) -> WorkflowDocument:
    """The graph to save for a new workflow `name` started from `template`."""
    key, wf_spec = _only_workflow(template.spec)
    wf_spec = wf_spec.model_copy(update={"name": name, "id": None})
    resolver = GraphResolver(session, f"workflows.{key}", wf_spec, None, CredentialLinks())
    plan = resolver.resolve()
    if resolver.problems:
        first = resolver.problems[0]
        raise InvalidInput(
            f"Template '{template.name}' does not make a valid workflow: "
            f"{first.loc}: {first.message}",
            details=[p.as_dict() for p in resolver.problems],
        )
    return plan.doc


def create_from_template(
    session: Session, project_id: uuid.UUID, template_id: uuid.UUID, name: str, actor_id: uuid.UUID
) -> WorkflowPublic:
    template = get_template(session, template_id, project_id)
    return workflows.create_workflow(
        session, project_id, workflow_document(session, template, name), actor_id
    )


def _only_workflow(text: str) -> tuple[str, WorkflowSpec]:
    spec = parse_document(load_yaml(text))
    if len(spec.workflows) != 1:
        raise InvalidInput(
            f"A template holds exactly one workflow; this one has {len(spec.workflows)}."
        )
    ((key, wf_spec),) = spec.workflows.items()
    return key, wf_spec
