"""Credential types: the JSON schema a body must match, and which fields are secret.

A credential's `schema` is `raw` (any JSON object), `oauth` (an OAuth2 client,
built in), or an adaptor name (`http`, `@openfn/language-dhis2`) whose npm
package ships `configuration-schema.json`. Fields marked `writeOnly` in that
schema are never returned after saving: they read as `********`, and leaving
them blank (or `********`) on edit keeps the stored value. For `raw` bodies
every value except the non-secret keys (username, host, baseUrl, ...) is secret.
"""

from __future__ import annotations

import threading
from typing import Any

from jsonschema import FormatChecker
from jsonschema.exceptions import SchemaError
from jsonschema.validators import validator_for

from adaptor_tasks import AdaptorInstallError, AdaptorNotFoundError, parse_specifier
from lightning_flows.core.errors import InvalidInput
from lightning_flows.credentials.scrubber import NON_SECRET_KEYS

RAW = "raw"
OAUTH = "oauth"
MASK = "********"
_OPENFN_PREFIX = "@openfn/language-"

OAUTH_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {
        "clientId": {"title": "Client ID", "type": "string", "minLength": 1},
        "clientSecret": {"title": "Client secret", "type": "string", "writeOnly": True},
        "authorizationUrl": {"title": "Authorization URL", "type": "string", "format": "uri"},
        "tokenUrl": {"title": "Token URL", "type": "string", "format": "uri"},
        "scope": {"title": "Scopes (space separated)", "type": "string"},
    },
    "required": ["clientId", "clientSecret", "authorizationUrl", "tokenUrl"],
    "additionalProperties": True,
}

_cache: dict[str, dict[str, Any]] = {}
_lock = threading.Lock()


def normalize_schema_name(name: str) -> str:
    """`raw`, `oauth`, or an adaptor's short name (`@openfn/language-http@7` -> `http`)."""
    text = name.strip()
    if text.lower() in (RAW, OAUTH):
        return text.lower()
    try:
        spec = parse_specifier(text)
    except AdaptorNotFoundError as exc:
        raise _schema_error(f"'{name}' is not 'raw', 'oauth' or an adaptor name") from exc
    return spec.name.removeprefix(_OPENFN_PREFIX)


def json_schema_for(schema_name: str) -> dict[str, Any] | None:
    """The JSON schema for a normalized schema name (None for raw); cached per process."""
    if schema_name == RAW:
        return None
    if schema_name == OAUTH:
        return OAUTH_SCHEMA
    with _lock:
        cached = _cache.get(schema_name)
    if cached is not None:
        return cached
    from lightning_flows.core.node_runtime import get_repository

    package = schema_name if schema_name.startswith("@") else _OPENFN_PREFIX + schema_name
    try:
        repository = get_repository()
        schema = repository.configuration_schema(repository.resolve(f"{package}@latest"))
    except AdaptorNotFoundError as exc:
        raise _schema_error(f"unknown adaptor '{schema_name}'") from exc
    except AdaptorInstallError as exc:
        message = f"cannot install adaptor '{schema_name}' to read its schema: {exc}"
        raise _schema_error(message) from exc
    if schema is None:
        raise _schema_error(
            f"adaptor '{schema_name}' publishes no configuration schema; use 'raw' instead"
        )
    with _lock:
        _cache[schema_name] = schema
    return schema


def validate_body(schema: dict[str, Any] | None, body: Any) -> None:
    """Raise InvalidInput with one error per field (`loc` = ["body", ...path]) if invalid."""
    if not isinstance(body, dict):
        raise InvalidInput("body: must be a JSON object.")
    if schema is None:
        return
    try:
        validator = validator_for(schema)(schema, format_checker=FormatChecker())
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    except SchemaError as exc:
        raise InvalidInput(
            f"schema: the adaptor's schema is itself invalid: {exc.message}"
        ) from exc
    if not errors:
        return
    details = []
    for error in errors:
        path = [str(p) for p in error.absolute_path]
        if error.validator == "required" and error.validator_value:
            missing = [f for f in error.validator_value if f not in (error.instance or {})]
            path, message = [*path, *missing[:1]], "is required"
        else:
            message = _redacted(error.message, error.instance)
        details.append({"loc": ["body", *path], "msg": message, "type": str(error.validator)})
    summary = "; ".join(f"{'.'.join(d['loc'][1:]) or 'body'}: {d['msg']}" for d in details)
    raise InvalidInput(f"body: {summary}", details=details)


def _redacted(message: str, instance: Any) -> str:
    """jsonschema quotes the rejected value; a secret must not travel back in an error."""
    if isinstance(instance, str | int | float) and str(instance) and str(instance) in message:
        return message.replace(repr(instance), "the value").replace(str(instance), "the value")
    return message


def secret_fields(schema: dict[str, Any] | None, body: dict[str, Any]) -> set[str]:
    """Top-level keys of `body` that are never shown again after saving."""
    if schema is None:
        return {k for k in body if k.lower() not in NON_SECRET_KEYS}
    properties = schema.get("properties") or {}
    return {k for k, spec in properties.items() if isinstance(spec, dict) and spec.get("writeOnly")}


def masked(schema: dict[str, Any] | None, body: dict[str, Any]) -> dict[str, Any]:
    """The body as it may be shown: secret fields with a value read `********`."""
    hidden = secret_fields(schema, body)
    return {k: (MASK if k in hidden and v not in (None, "") else v) for k, v in body.items()}


def merge_edit(
    schema: dict[str, Any] | None, old: dict[str, Any], new: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """Apply an edited body: blank or `********` secret fields keep their stored value.

    Returns the new body and the names of the fields that changed (never values).
    """
    hidden = secret_fields(schema, old) | secret_fields(schema, new)
    merged = dict(new)
    for key in hidden:
        if key in old and merged.get(key) in (None, "", MASK):
            merged[key] = old[key]
    for key in hidden:
        if merged.get(key) == MASK:
            raise InvalidInput(f"body.{key}: '{MASK}' is a placeholder; enter the actual value.")
    changed = sorted(k for k in set(old) | set(merged) if old.get(k) != merged.get(k))
    return merged, changed


def _schema_error(message: str) -> InvalidInput:
    return InvalidInput(
        f"schema: {message}.", details=[{"loc": ["schema"], "msg": message, "type": "schema"}]
    )
