"""The API's input gate (every route but `/i/...`, which checks its own): a body
limit (413), strict JSON (422 naming the field: non-finite numbers, NUL,
unpaired surrogates, nesting), and no NUL in the path, query or form fields."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, unquote

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lightning_flows.core.config import get_settings
from lightning_flows.core.json_guard import JsonRefused, loads_strict
from lightning_flows.core.request_body import DRAIN_FACTOR, drain

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_NUL = "contains a NUL character (\\u0000), which cannot be stored"


def _answer(status: int, detail: str, errors: list[dict[str, Any]] | None = None) -> bytes:
    body: dict[str, Any] = {"detail": detail}
    if errors is not None:
        body["errors"] = errors
    return orjson.dumps(body)


def refusal(exc: JsonRefused) -> bytes:
    """The 422 body for a refused value: `{detail, errors: [{loc, msg, type}]}`."""
    return _answer(422, exc.message, exc.details)


class InputLimits:
    """ASGI middleware guarding API and page requests before any route sees them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "").startswith("/i/"):
            await self.app(scope, receive, send)
            return
        problem = _url_problem(scope)
        if problem is not None:
            await _send(send, 422, problem)
            return
        if scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        settings = get_settings()
        limit = settings.api_max_body_bytes
        raw = await _read(scope, receive, limit)
        if raw is None:
            detail = f"The request body is larger than the {limit:,}-byte limit."
            await _send(send, 413, _answer(413, detail))
            return
        problem = _body_problem(scope, raw, settings.json_max_depth)
        if problem is not None:
            await _send(send, 422, problem)
            return
        await self.app(scope, _replay(raw, receive), send)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return ""


def _url_problem(scope: Scope) -> bytes | None:
    if "\x00" in scope.get("path", ""):
        return refusal(JsonRefused(["path"], _NUL))
    query: bytes = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        for key, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if "\x00" in key or "\x00" in value:
                return refusal(JsonRefused(["query", key.replace("\x00", "")], _NUL))
    return None


def _body_problem(scope: Scope, raw: bytes, max_depth: int) -> bytes | None:
    kind = _header(scope, b"content-type").split(";", 1)[0].strip().lower()
    if not raw.strip():
        return None
    if kind == "application/json" or kind.endswith("+json"):
        try:
            loads_strict(raw, max_depth)
        except JsonRefused as exc:
            return refusal(exc)
    elif kind == "application/x-www-form-urlencoded" and (b"%00" in raw or b"\x00" in raw):
        for key, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
            if "\x00" in unquote(key) or "\x00" in value:
                return refusal(JsonRefused(["body", key.replace("\x00", "")], _NUL))
    return None


async def _read(scope: Scope, receive: Receive, limit: int) -> bytes | None:
    """The body, or None (after draining it, so the connection stays usable) past `limit`."""
    declared = _header(scope, b"content-length")
    if declared.isdigit() and int(declared) > limit:
        await drain(receive, 0, DRAIN_FACTOR * limit)
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            if message.get("more_body", False):
                await drain(receive, size, DRAIN_FACTOR * limit)
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(raw: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()  # later messages: a disconnect, as the server sends it
        sent = True
        return {"type": "http.request", "body": raw, "more_body": False}

    return replay


async def _send(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
