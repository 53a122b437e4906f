"""`/i/{trigger_id_or_custom_path}`: where webhooks come in.

POST answers 200 `{work_order_id, run_id}` once the request is durably stored
(or 201 with the run's final state for `after_completion` triggers). Errors:
401 credentials required, 404 unknown path or wrong credentials, 403 trigger
disabled, 413 body too large, 415/422 body unusable, 429 rate limited, 503
database unavailable.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool

from lightning_flows.core.config import get_settings
from lightning_flows.webhooks import auth, intake, reply
from lightning_flows.webhooks.bodies import (
    BodyError,
    media_type,
    parse_body,
    parse_multipart,
    request_metadata,
)
from lightning_flows.webhooks.lookup import MISS, WebhookTarget, cached_target, find_target
from lightning_flows.webhooks.ratelimit import TriggerRateLimiter

log = logging.getLogger(__name__)
router = APIRouter(tags=["webhooks"])
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, X-Api-Key",
    "Access-Control-Expose-Headers": "x-meta-work-order-id, x-meta-run-id",
}
_limiter: TriggerRateLimiter | None = None


def _error(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers={**CORS, **(headers or {})})


def _rate_limiter() -> TriggerRateLimiter:
    global _limiter
    settings = get_settings()
    if _limiter is None or _limiter.rate != settings.webhook_rate_limit_per_second:
        _limiter = TriggerRateLimiter(
            settings.webhook_rate_limit_per_second, settings.webhook_rate_limit_burst
        )
    return _limiter


async def _authorised_target(request: Request, key: str) -> WebhookTarget | JSONResponse:
    try:
        hit = cached_target(key)
        target = await run_in_threadpool(find_target, key) if hit is MISS else hit
    except OperationalError:
        return _error(503, "The database is unavailable; try again shortly.", {"Retry-After": "5"})
    if not isinstance(target, WebhookTarget):
        return _error(404, "No webhook trigger at this path.")
    verdict = auth.check(target.auth_methods, request.headers)
    if verdict is auth.AuthResult.MISSING:
        return _error(
            401,
            "This webhook requires credentials: HTTP basic auth or an x-api-key header.",
            {"WWW-Authenticate": 'Basic realm="lightning-flows"'},
        )
    if verdict is auth.AuthResult.WRONG:
        return _error(404, "No webhook trigger at this path.")
    if not target.enabled:
        return _error(
            403, "This trigger is disabled; enable it in the workflow to accept requests."
        )
    return target


async def _read_body(request: Request, limit: int) -> bytes | JSONResponse:
    too_large = _error(413, f"The body is larger than the {limit:,}-byte limit.")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        return too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return too_large
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/i/{key}", summary="Receive a webhook request")
async def receive(request: Request, key: str) -> Response:
    settings = get_settings()
    target = await _authorised_target(request, key)
    if isinstance(target, JSONResponse):
        return target
    wait = _rate_limiter().acquire(target.trigger_id)
    if wait:
        return _error(
            429,
            "Too many requests for this trigger; slow down and retry.",
            {"Retry-After": TriggerRateLimiter.retry_after(wait)},
        )
    raw = await _read_body(request, settings.webhook_max_body_bytes)
    if isinstance(raw, JSONResponse):
        return raw
    try:
        if media_type(request.headers.get("content-type")) == "multipart/form-data":
            body: Any = await parse_multipart(raw, request.scope["headers"])
        else:
            body = parse_body(request.headers.get("content-type"), raw)
    except BodyError as exc:
        return _error(exc.status, exc.message)
    try:
        work_order_id, run_id = await intake.get_writer().accept(
            target, body, request_metadata(request)
        )
    except intake.IntakeUnavailable:
        log.exception("intake could not store a request for trigger %s", target.trigger_id)
        return _error(
            503,
            "The database is unavailable; nothing was stored. Retry shortly.",
            {"Retry-After": "5"},
        )
    ids = {"work_order_id": str(work_order_id), "run_id": str(run_id)}
    headers = {**CORS, "x-meta-work-order-id": ids["work_order_id"], "x-meta-run-id": ids["run_id"]}
    if target.reply != "after_completion":
        return JSONResponse(ids, status_code=200, headers=headers)
    return await _sync_reply(run_id, ids, headers, settings.webhook_reply_timeout_seconds)


async def _sync_reply(
    run_id: uuid.UUID, ids: dict[str, str], headers: dict[str, str], timeout: float
) -> Response:
    finished = await reply.wait_for_run(run_id, timeout)
    if finished is None:
        return JSONResponse(
            {
                "detail": f"The run did not finish within {timeout:g}s; it goes on. "
                "Look it up with the ids below.",
                **ids,
            },
            status_code=504,
            headers=headers,
        )
    custom = reply.custom_response(finished.final_state)
    if custom is not None:
        return JSONResponse(custom[1], status_code=custom[0], headers=headers)
    meta = {**ids, "state": finished.state}
    return JSONResponse(
        {"data": finished.final_state, "meta": meta}, status_code=201, headers=headers
    )


@router.get("/i/{key}", summary="Check that a webhook trigger exists")
async def check(request: Request, key: str) -> Response:
    target = await _authorised_target(request, key)
    if isinstance(target, JSONResponse):
        return target
    return PlainTextResponse(
        f"Lightning Flows: this webhook trigger of workflow '{target.workflow_name}' "
        "accepts POST requests.",
        headers=CORS,
    )


@router.options("/i/{key}", include_in_schema=False)
async def preflight(key: str) -> Response:
    return Response(status_code=204, headers={**CORS, "Access-Control-Max-Age": "600"})
