"""Mapping domain errors to HTTP, registered once by the app factory."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError

from lightning_flows.core.errors import DomainError, LimitExceeded, Unauthenticated

log = logging.getLogger(__name__)


def domain_error_response(exc: DomainError) -> JSONResponse:
    body: dict[str, object] = {"detail": exc.message}
    if exc.details is not None:
        body["errors"] = exc.details
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthenticated) else None
    if isinstance(exc, LimitExceeded):
        headers = {"Retry-After": str(exc.retry_after)}
    return JSONResponse(body, status_code=exc.status_code, headers=headers)


def register_error_handlers(app: FastAPI) -> None:
    async def on_domain_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DomainError)  # noqa: S101
        return domain_error_response(exc)

    async def on_database_down(_request: Request, exc: Exception) -> JSONResponse:
        log.error("database unavailable: %s", exc)
        return JSONResponse(
            {"detail": "The database is unavailable; try again shortly."},
            status_code=503,
            headers={"Retry-After": "5"},
        )

    app.add_exception_handler(DomainError, on_domain_error)
    app.add_exception_handler(OperationalError, on_database_down)
