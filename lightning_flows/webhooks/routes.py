"""The webhook endpoints as FastAPI routes, for the OpenAPI docs: requests to `/i/...`
are answered by `fast_path` before routing, with the same handlers."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from lightning_flows.webhooks import handlers
from lightning_flows.webhooks.answers import WebhookRequest

router = APIRouter(tags=["webhooks"])
_IDS = {
    "type": "object",
    "required": ["work_order_id", "run_id"],
    "properties": {
        "work_order_id": {"type": "string", "format": "uuid"},
        "run_id": {"type": "string", "format": "uuid"},
    },
}
_RECEIVE_DOC = {
    "requestBody": {
        "required": False,
        "description": "Any JSON value (strict: finite numbers, no NUL), a form, "
        "multipart, XML or text; at most LIGHTNING_WEBHOOK_MAX_BODY_BYTES.",
        "content": {
            "application/json": {"schema": {}},
            "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
            "text/plain": {"schema": {"type": "string"}},
        },
    },
    "responses": {
        "200": {"description": "Stored.", "content": {"application/json": {"schema": _IDS}}},
        "201": {
            "description": "The run's final state (after_completion triggers).",
            "content": {"application/json": {"schema": {}}},
        },
    },
}
_CHECK_DOC = {
    "responses": {
        "200": {
            "description": "A trigger lives here.",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    }
}


@router.post(
    "/i/{key}",
    summary="Receive a webhook request",
    openapi_extra=_RECEIVE_DOC,
    response_class=Response,
)
async def receive(request: Request, key: str) -> Response:
    """Store the request and answer 200 `{work_order_id, run_id}` once it is durable
    (201 with the run's final state for `after_completion` triggers). Errors: 401
    credentials required, 404 unknown path or wrong credentials, 403 trigger disabled,
    413 body too large, 415/422 body unusable, 429 rate limited, 503 database down."""
    answer = await handlers.receive(WebhookRequest(request.scope, request.receive), key)
    return answer.response()


@router.get(
    "/i/{key}",
    summary="Check that a webhook trigger exists",
    openapi_extra=_CHECK_DOC,
    response_class=Response,
)
async def check(request: Request, key: str) -> Response:
    answer = await handlers.check(WebhookRequest(request.scope, request.receive), key)
    return answer.response()


@router.options("/i/{key}", include_in_schema=False)
async def preflight(key: str) -> Response:
    return (await handlers.preflight(key)).response()
