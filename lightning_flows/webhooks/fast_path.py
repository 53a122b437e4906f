"""Intake is the hot path: `/i/...` requests skip FastAPI's routing and dependency
machinery and go straight to the webhook handlers, in plain ASGI (the FastAPI
routes stay for the OpenAPI docs and behave the same)."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from lightning_flows.webhooks import handlers
from lightning_flows.webhooks.answers import WebhookRequest

_HANDLERS = {"POST": handlers.receive, "GET": handlers.check}


class WebhookFastPath:
    """ASGI middleware answering `POST|GET|OPTIONS /i/{key}` directly."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/i/"):
            await self.app(scope, receive, send)
            return
        key = path[3:]
        method = scope["method"]
        if not key or "/" in key or (method not in _HANDLERS and method != "OPTIONS"):
            await self.app(scope, receive, send)
            return
        if method == "OPTIONS":
            answer = await handlers.preflight(key)
        else:
            answer = await _HANDLERS[method](WebhookRequest(scope, receive), key)
        await answer.send(send)
