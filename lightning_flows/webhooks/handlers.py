"""`/i/{trigger_id_or_custom_path}`: where webhooks come in.

POST answers 200 `{work_order_id, run_id}` once the request is durably stored
(or 201 with the run's final state for `after_completion` triggers). Errors:
401 credentials required, 404 unknown path or wrong credentials, 403 trigger
disabled, 413 body too large, 415/422 body unusable, 429 rate limited or the
project's monthly run limit reached, 503 database unavailable.
"""

from __future__ import annotations

import json
import logging
import uuid

from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool

from lightning_flows.core.config import get_settings
from lightning_flows.core.errors import LimitExceeded
from lightning_flows.limits import service as limits
from lightning_flows.runs import intake
from lightning_flows.webhooks import auth, reply
from lightning_flows.webhooks.answers import (
    CORS,
    Answer,
    WebhookRequest,
    error,
    json_answer,
    text_answer,
)
from lightning_flows.webhooks.bodies import (
    REDACTED_HEADERS,
    Body,
    BodyError,
    checked,
    media_type,
    parse_body,
    parse_multipart,
)
from lightning_flows.webhooks.lookup import MISS, WebhookTarget, cached_target, find_target
from lightning_flows.webhooks.ratelimit import TriggerRateLimiter

log = logging.getLogger(__name__)
_PREFLIGHT = Answer(204, [*CORS, (b"access-control-max-age", b"600")])
_limiter: TriggerRateLimiter | None = None
_RETRY_SOON = {"Retry-After": "5"}


def _rate_limiter() -> TriggerRateLimiter:
    global _limiter
    settings = get_settings()
    if _limiter is None or _limiter.rate != settings.webhook_rate_limit_per_second:
        _limiter = TriggerRateLimiter(
            settings.webhook_rate_limit_per_second, settings.webhook_rate_limit_burst
        )
    return _limiter


async def _authorised_target(request: WebhookRequest, key: str) -> WebhookTarget | Answer:
    if "\x00" in key:  # no trigger has one, and PostgreSQL cannot compare it
        return error(404, "No webhook trigger at this path.")
    try:
        hit = cached_target(key)
        target = await run_in_threadpool(find_target, key) if hit is MISS else hit
    except OperationalError:
        return error(503, "The database is unavailable; try again shortly.", {"Retry-After": "5"})
    if not isinstance(target, WebhookTarget):
        return error(404, "No webhook trigger at this path.")
    verdict = auth.check(target.auth_methods, request.headers)
    if verdict is auth.AuthResult.MISSING:
        return error(
            401,
            "This webhook requires credentials: HTTP basic auth or an x-api-key header.",
            {"WWW-Authenticate": 'Basic realm="lightning-flows"'},
        )
    if verdict is auth.AuthResult.WRONG:
        return error(404, "No webhook trigger at this path.")
    if not target.enabled:
        return error(403, "This trigger is disabled; enable it in the workflow to accept requests.")
    return target


async def _body(request: WebhookRequest, limit: int) -> Body | Answer:
    raw = await request.body(limit)
    if raw is None:
        return error(413, f"The body is larger than the {limit:,}-byte limit.")
    content_type = request.headers.get("content-type")
    try:
        if media_type(content_type) == "multipart/form-data":
            return Body(value=await parse_multipart(raw, request.raw_headers), size=len(raw))
        return parse_body(content_type, raw)
    except BodyError as exc:
        return error(exc.status, exc.message)


async def receive(request: WebhookRequest, key: str) -> Answer:
    """POST: store the request (dataclip, work order, run) and acknowledge it."""
    settings = get_settings()
    target = await _authorised_target(request, key)
    if isinstance(target, Answer):
        return target
    wait = _rate_limiter().acquire(target.trigger_id)
    if wait:
        return error(
            429,
            "Too many requests for this trigger; slow down and retry.",
            {"Retry-After": TriggerRateLimiter.retry_after(wait)},
        )
    body = await _body(request, settings.webhook_max_body_bytes)
    if isinstance(body, Answer):
        return body
    metadata = request.metadata(REDACTED_HEADERS)
    try:
        checked(metadata["query_params"], "query")
    except BodyError as exc:
        return error(exc.status, exc.message)
    month = None
    if not limits.known_unlimited(target.project_id):
        try:  # the monthly allowance: a slot is taken before anything is stored
            month = await run_in_threadpool(limits.take_slot, target.project_id)
        except LimitExceeded as exc:
            return error(429, exc.message, {"Retry-After": str(exc.retry_after)})
        except OperationalError:
            return error(503, "The database is unavailable; try again shortly.", _RETRY_SOON)
    try:
        work_order_id, run_id = await intake.get_writer().accept(target, body, metadata)
    except intake.IntakeRefused as exc:
        await run_in_threadpool(limits.give_back, target.project_id, month)
        return error(422, f"The request could not be stored as sent (nothing was stored): {exc}")
    except intake.IntakeUnavailable:
        await run_in_threadpool(limits.give_back, target.project_id, month)
        log.exception("intake could not store a request for trigger %s", target.trigger_id)
        return error(
            503,
            "The database is unavailable; nothing was stored. Retry shortly.",
            {"Retry-After": "5"},
        )
    ids = {"work_order_id": str(work_order_id), "run_id": str(run_id)}
    headers = [
        *CORS,
        (b"x-meta-work-order-id", ids["work_order_id"].encode()),
        (b"x-meta-run-id", ids["run_id"].encode()),
    ]
    if target.reply != "after_completion":
        return json_answer(200, ids, headers)
    timeout = settings.webhook_reply_timeout_seconds
    return await _sync_reply(run_id, ids, headers, timeout, target.reply_codes)


async def _sync_reply(
    run_id: uuid.UUID,
    ids: dict[str, str],
    headers: list[tuple[bytes, bytes]],
    timeout: float,
    codes: tuple[int | None, int | None] = (None, None),
) -> Answer:
    finished = await reply.wait_for_run(run_id, timeout)
    if finished is None:
        detail = (
            f"The run did not finish within {timeout:g}s; it goes on. "
            "Look it up with the ids below."
        )
        return json_answer(504, {"detail": detail, **ids}, headers)
    custom = reply.custom_response(finished.final_state)
    if custom is not None:
        return _job_answer(custom[0], custom[1], headers)
    meta = {**ids, "state": finished.state}
    success_code, error_code = codes  # the trigger's webhook_response_config
    status = (success_code if finished.state == "success" else error_code) or 201
    return _job_answer(status, {"data": finished.final_state, "meta": meta}, headers)


def _job_answer(status: int, payload: object, headers: list[tuple[bytes, bytes]]) -> Answer:
    """A job's state rendered exactly as Starlette's JSONResponse would (NaN refused)."""
    body = json.dumps(payload, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    encoded = body.encode()
    content = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(encoded))]
    return Answer(status, [*headers, *content], encoded)


async def check(request: WebhookRequest, key: str) -> Answer:
    """GET: does a webhook trigger live at this path (and do the credentials fit)?"""
    target = await _authorised_target(request, key)
    if isinstance(target, Answer):
        return target
    return text_answer(
        200,
        f"Lightning Flows: this webhook trigger of workflow '{target.workflow_name}' "
        "accepts POST requests.",
    )


async def preflight(_key: str) -> Answer:
    """OPTIONS: CORS preflight for browser forms."""
    return _PREFLIGHT
