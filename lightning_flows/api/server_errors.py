"""The last line: an unexpected exception becomes a plain 500 that says it is the
server's fault, is logged with a reference, and keeps the connection open.

Starlette's own error middleware re-raises after answering, and the ASGI server
then closes the keep-alive connection; this one answers and returns.
"""

from __future__ import annotations

import logging
import uuid

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)


class ServerErrors:
    """ASGI middleware turning an uncaught exception into a 500 answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            reference = uuid.uuid4().hex[:12]
            where = f"{scope['method']} {scope['path']}"
            log.exception("unexpected error (ref %s) on %s", reference, where)
            if started:
                raise  # too late for an answer: the server ends the response
            body = orjson.dumps(
                {
                    "detail": "Internal server error: this is a fault of the server, not of "
                    f"your request. It has been logged with reference {reference}.",
                    "reference": reference,
                }
            )
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(body)),
            ]
            await send({"type": "http.response.start", "status": 500, "headers": headers})
            await send({"type": "http.response.body", "body": body})
