"""The credential form's data: which types exist, which projects it may be shared with,
the fields of its schema, and reading a submitted form into a body."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select
from starlette.datastructures import FormData

from lightning_flows.accounts.models import User
from lightning_flows.accounts.policy import Action, is_allowed
from lightning_flows.core.errors import DomainError, InvalidInput
from lightning_flows.credentials import validation
from lightning_flows.projects.models import Project, ProjectUser
from ui_extension.pages import schema_form

OPENFN_PREFIX = "@openfn/language-"


def schema_choices() -> list[tuple[str, str]]:
    """(value, label) of the credential types offered without typing a name."""
    from lightning_flows.core.node_runtime import get_repository

    choices = [("raw", "Raw JSON (any keys)"), ("oauth", "OAuth2 client")]
    scope = get_repository().bundled_dir / "@openfn"
    for package in sorted(scope.glob("language-*")) if scope.is_dir() else []:
        if (package / "configuration-schema.json").exists():
            short = package.name.removeprefix("language-")
            choices.append((short, f"{short} adaptor ({OPENFN_PREFIX}{short})"))
    return choices


def shareable_projects(
    db: Session, user: User, linked: set[uuid.UUID]
) -> list[tuple[Project, bool]]:
    """(project, may share) for projects the user may share with, plus those already linked."""
    statement = select(Project, ProjectUser.role).outerjoin(
        ProjectUser,
        (col(ProjectUser.project_id) == col(Project.id)) & (ProjectUser.user_id == user.id),
    )
    rows = db.exec(statement.order_by(col(Project.name))).all()
    result = []
    for project, role in rows:
        allowed = is_allowed(role, Action.USE_CREDENTIALS, superuser=user.is_superuser)
        if allowed or project.id in linked:
            result.append((project, allowed))
    return result


@dataclass
class CredentialForm:
    """What the form template shows: the type, its fields, values and errors."""

    schema_name: str
    mode: str  # "form" or "raw"
    fields: list[schema_form.FormField] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)
    raw_body: str = "{\n  \n}"
    field_errors: dict[str, str] = field(default_factory=dict)
    name: str = ""
    production: bool = False
    project_ids: set[uuid.UUID] = field(default_factory=set)

    @property
    def raw(self) -> bool:
        return self.mode == "raw"


def new_form(schema_name: str, mode: str) -> CredentialForm:
    """A form for a credential type; InvalidInput if the type has no schema to read."""
    normalized = validation.normalize_schema_name(schema_name)
    schema = validation.json_schema_for(normalized)
    if schema is None:
        return CredentialForm(normalized, "raw")
    return CredentialForm(normalized, mode, fields=schema_form.form_fields(schema))


def read_submission(form: CredentialForm, data: FormData) -> dict[str, Any]:
    """Fill `form` from the submitted data and return the body it describes."""
    form.name = str(data.get("name") or "").strip()
    form.production = "production" in data
    form.project_ids = {uuid.UUID(str(v)) for v in data.getlist("project_ids") if _is_uuid(v)}
    if form.raw:
        form.raw_body = str(data.get("raw_body") or "")
        try:
            body = json.loads(form.raw_body or "{}")
        except ValueError as exc:
            raise InvalidInput(f"The raw JSON is not valid JSON: {exc}.") from exc
        if not isinstance(body, dict):
            raise InvalidInput('The raw JSON must be an object, like {"key": "value"}.')
        _require_name(form)
        return body
    form.values = {f.name: str(data.get(f.input_name) or "") for f in form.fields if not f.secret}
    form.values.update(
        {f.name: "on" for f in form.fields if f.kind == "checkbox" and f.input_name in data}
    )
    body = schema_form.body_from_form(form.fields, data)
    _require_name(form)
    return body


def _require_name(form: CredentialForm) -> None:
    if not form.name:
        form.field_errors["name"] = "is required"
        raise InvalidInput("Give the credential a name.")


def apply_errors(form: CredentialForm, exc: DomainError) -> str:
    """Attach per-field messages (from the schema validation) and return the summary."""
    for detail in exc.details or []:
        loc = [str(part) for part in detail.get("loc", [])]
        if len(loc) >= 2 and loc[0] == "body":
            form.field_errors[loc[1]] = str(detail.get("msg", "is not valid"))
    return exc.message


def _is_uuid(value: object) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True
