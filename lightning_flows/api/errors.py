"""Mapping domain errors to HTTP, registered once by the app factory."""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError, StatementError

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

    async def on_invalid_request(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)  # noqa: S101  # nosec B101
        return JSONResponse({"detail": _json_safe(jsonable_encoder(exc.errors()))}, 422)

    async def on_unstorable_value(_request: Request, exc: Exception) -> JSONResponse:
        reason = str(getattr(exc, "orig", exc)).splitlines()[0]
        return JSONResponse({"detail": f"A value cannot be stored: {reason}"}, 422)

    async def on_integrity_error(_request: Request, exc: Exception) -> JSONResponse:
        reason = str(getattr(exc, "orig", exc)).splitlines()[0]
        return JSONResponse({"detail": f"The change conflicts with stored data: {reason}"}, 409)

    app.add_exception_handler(DomainError, on_domain_error)
    app.add_exception_handler(OperationalError, on_database_down)
    app.add_exception_handler(RequestValidationError, on_invalid_request)

    async def on_statement_error(request: Request, exc: Exception) -> JSONResponse:
        if isinstance(getattr(exc, "orig", None), OverflowError):  # SQLite: past 64 bits
            return await on_out_of_range(request, exc)
        raise exc

    async def on_out_of_range(_request: Request, _exc: Exception) -> JSONResponse:
        detail = "A number is out of range: integers must fit in 64 bits."
        return JSONResponse({"detail": detail}, 422)

    app.add_exception_handler(DataError, on_unstorable_value)
    app.add_exception_handler(StatementError, on_statement_error)
    app.add_exception_handler(OverflowError, on_out_of_range)
    app.add_exception_handler(IntegrityError, on_integrity_error)


def _json_safe(value: Any) -> Any:
    """Validation errors echo the input: non-finite numbers become strings, so the
    422 itself is valid JSON (they used to turn it into a 500)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value
