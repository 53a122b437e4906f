"""`/api/provision`: projects as code, in OpenFn's `project.yaml` format.

POST a spec or state document (JSON, or YAML with `Content-Type: application/yaml`)
to create or update a project in one transaction; GET its state or spec YAML.
Answers use Lightning's envelope and list shape (see `provisioning.wire`).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import JSONResponse, Response

from lightning_flows.accounts.policy import Action, authorize
from lightning_flows.api.deps import CurrentUser, SessionDep
from lightning_flows.core.config import get_settings
from lightning_flows.core.errors import InvalidInput
from lightning_flows.core.json_guard import check_value, loads_strict
from lightning_flows.projects import service as projects
from lightning_flows.provisioning import export, wire
from lightning_flows.provisioning import service as provisioning
from lightning_flows.provisioning.diff import ProjectDiff
from lightning_flows.provisioning.yamlio import load_json, load_yaml

router = APIRouter(prefix="/api/provision", tags=["provision"])
MAX_DOCUMENT_BYTES = 20_000_000

_DOCUMENT_BODY = {
    "requestBody": {
        "required": True,
        "description": "A project spec or state document (OpenFn's format).",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "application/yaml": {"schema": {"type": "string"}},
        },
    }
}
ProjectIdQuery = Annotated[
    uuid.UUID | None, Query(alias="id", description="The project to update (or the doc's `id`).")
]


async def project_document(request: Request) -> dict[str, Any]:
    """The request body as a mapping: YAML when the content type says so, else JSON."""
    body = await request.body()
    if len(body) > MAX_DOCUMENT_BYTES:
        raise InvalidInput(f"The document is larger than {MAX_DOCUMENT_BYTES // 1_000_000} MB.")
    content_type = request.headers.get("content-type", "").lower()
    max_depth = get_settings().json_max_depth
    if "yaml" in content_type:
        try:
            document = load_yaml(body)
        except RecursionError as exc:
            message = f"The YAML document is nested deeper than {max_depth} levels."
            raise InvalidInput(message) from exc
        check_value(document, max_depth)
        return document
    loads_strict(body, max_depth)  # non-finite numbers, NUL, surrogates, depth: 422
    return load_json(body)


Document = Annotated[dict[str, Any], Depends(project_document)]


@router.post("", status_code=status.HTTP_201_CREATED, openapi_extra=_DOCUMENT_BODY)
def provision(
    session: SessionDep, user: CurrentUser, document: Document, project_id: ProjectIdQuery = None
) -> JSONResponse:
    """Create or update a project from a document; answers 201 `{"data": project}` in
    Lightning's list shape, with `Location: /api/provision/{id}`."""
    outcome = provisioning.provision(session, user, document, project_id)
    return JSONResponse(
        {"data": wire.to_payload(outcome.state)},
        status_code=status.HTTP_201_CREATED,
        headers={"Location": f"/api/provision/{outcome.project.id}"},
    )


# A YAML body is described by what it parses to: the spec, a mapping (project.yaml).
_SPEC_SCHEMA = {"type": "object", "description": "The project's spec, as project.yaml"}


@router.post("/preview", response_model=ProjectDiff, openapi_extra=_DOCUMENT_BODY)
def preview(
    session: SessionDep, user: CurrentUser, document: Document, project_id: ProjectIdQuery = None
) -> ProjectDiff:
    """What a provision of this document would change (nothing is written)."""
    return provisioning.preview(session, user, document, project_id)


@router.get(
    "/yaml",
    response_class=Response,
    responses={200: {"content": {"application/yaml": {"schema": _SPEC_SCHEMA}}}},
)
def project_yaml(
    session: SessionDep,
    user: CurrentUser,
    project_id: Annotated[uuid.UUID, Query(alias="id", description="The project to export.")],
) -> Response:
    """The project's spec as YAML (byte-stable: the same project gives the same bytes)."""
    project = projects.get_project(session, project_id)
    authorize(session, user, Action.READ_WORKFLOWS, project_id)
    text = export.project_yaml(session, project)
    return Response(text, media_type="application/yaml")


@router.get(
    "/{project_id}.yaml",
    response_class=Response,
    responses={200: {"content": {"application/yaml": {"schema": _SPEC_SCHEMA}}}},
)
def project_yaml_by_path(session: SessionDep, user: CurrentUser, project_id: uuid.UUID) -> Response:
    """The spec as YAML at Lightning's newer address (`/api/provision/{id}.yaml`)."""
    return project_yaml(session, user, project_id)


@router.get("/{project_id}")
def project_state(session: SessionDep, user: CurrentUser, project_id: uuid.UUID) -> JSONResponse:
    """`{"data": project}` in Lightning's list shape; 404 when there is no such project
    (OpenFn's CLI then creates it)."""
    project = projects.get_project(session, project_id)
    authorize(session, user, Action.READ_WORKFLOWS, project_id)
    return JSONResponse({"data": wire.to_payload(export.project_state(session, project))})
