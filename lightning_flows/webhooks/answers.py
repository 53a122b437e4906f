"""Webhook requests and answers as plain ASGI data: the hot path builds no framework
objects (the FastAPI routes wrap the same answers in Responses for the docs)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from lightning_flows.core.request_body import DRAIN_FACTOR, drain

Headers = list[tuple[bytes, bytes]]
CORS: Headers = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
    (b"access-control-allow-headers", b"Authorization, Content-Type, X-Api-Key"),
    (b"access-control-expose-headers", b"x-meta-work-order-id, x-meta-run-id"),
]
_JSON = (b"content-type", b"application/json")
_TEXT = (b"content-type", b"text/plain; charset=utf-8")


@dataclass(slots=True)
class Answer:
    status: int
    headers: Headers
    body: bytes = b""

    async def send(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": self.body})

    def response(self) -> Response:
        response = Response(self.body, status_code=self.status)
        response.raw_headers = list(self.headers)
        return response


def json_answer(status: int, payload: dict[str, str], headers: Headers = CORS) -> Answer:
    """Compact UTF-8 JSON, as Starlette's JSONResponse renders it."""
    body = orjson.dumps(payload)
    return Answer(status, [*headers, _JSON, (b"content-length", b"%d" % len(body))], body)


def text_answer(status: int, text: str, headers: Headers = CORS) -> Answer:
    body = text.encode()
    return Answer(status, [*headers, _TEXT, (b"content-length", b"%d" % len(body))], body)


def error(status: int, detail: str, extra: dict[str, str] | None = None) -> Answer:
    headers = CORS
    if extra:
        headers = [*CORS, *((k.lower().encode(), v.encode("latin-1")) for k, v in extra.items())]
    return json_answer(status, {"detail": detail}, headers)


class WebhookRequest:
    """What intake reads of a request: its decoded headers (names in lower case), the
    copy its dataclip keeps, and its body, read under a size limit."""

    __slots__ = ("headers", "method", "raw_headers", "receive", "scope")

    def __init__(self, scope: Scope, receive: Receive) -> None:
        self.scope = scope
        self.receive = receive
        self.method: str = scope["method"]
        self.raw_headers: Headers = scope["headers"]
        # Lookups see the first of repeated headers and the stored copy the last, as before.
        self.headers: dict[str, str] = {}
        for name, value in reversed(self.raw_headers):
            self.headers[name.decode("latin-1")] = value.decode("latin-1")

    def metadata(self, redacted: frozenset[str]) -> dict[str, Any]:
        """The request as its dataclip keeps it (path and query as Starlette shows them),
        credentials redacted."""
        path: str = self.scope["path"]
        query: bytes = self.scope.get("query_string", b"")
        headers = {}
        for name, value in self.raw_headers:
            key = name.decode("latin-1")
            headers[key] = "[REDACTED]" if key in redacted else value.decode("latin-1")
        return {
            "method": self.method,
            "path": path.replace("?", "%3F").replace("#", "%23").replace("\\", "%5C"),
            "query_params": dict(parse_qsl(query.decode("latin-1"), keep_blank_values=True)),
            "headers": headers,
        }

    async def body(self, limit: int) -> bytes | None:
        """The whole body, or None once it is known to exceed `limit` bytes."""
        declared = self.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            await drain(self.receive, 0, DRAIN_FACTOR * limit)  # keeps the connection usable
            return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnect()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                if message.get("more_body", False):
                    await drain(self.receive, size, DRAIN_FACTOR * limit)
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)
