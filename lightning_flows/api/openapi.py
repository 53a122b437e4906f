"""The OpenAPI document states what every route can answer: besides its success,
any 4xx with the platform's error body (`{detail, errors?}`), so clients and the
schema-driven fuzzer (tests/api/test_fuzz_api.py) can hold the API to it."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR_BODY: dict[str, Any] = {
    "title": "ErrorBody",
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {
            "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "object"}}],
            "description": "What is wrong, naming the field when there is one.",
        },
        "errors": {
            "type": "array",
            "items": {"type": "object"},
            "description": "Every problem found, each with its `loc` and message.",
        },
    },
}
_REF = {"$ref": "#/components/schemas/ErrorBody"}
_CLIENT_ERROR = {
    "description": "The request was refused (its `detail` says why).",
    "content": {"application/json": {"schema": _REF}},
}


def install(app: FastAPI) -> None:
    """Replace the app's OpenAPI generator by one that documents the error answers."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            schema.setdefault("components", {}).setdefault("schemas", {})["ErrorBody"] = ERROR_BODY
            for path in schema.get("paths", {}).values():
                for operation in path.values():
                    if isinstance(operation, dict) and "responses" in operation:
                        _document_errors(operation["responses"])
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _document_errors(responses: dict[str, Any]) -> None:
    responses.pop("422", None)  # FastAPI's HTTPValidationError: our 422s vary in shape
    responses.setdefault("4XX", _CLIENT_ERROR)
