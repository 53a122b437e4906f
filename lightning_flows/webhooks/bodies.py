"""Turning a webhook request body into a dataclip body, by content type."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import orjson
from defusedxml import ElementTree
from starlette.datastructures import UploadFile
from starlette.requests import Request

from lightning_flows.core.config import get_settings
from lightning_flows.core.json_guard import JsonRefused, check_value, needs_check

SUPPORTED = (
    "application/json, application/x-www-form-urlencoded, multipart/form-data, "
    "application/xml, text/xml, text/plain"
)
REDACTED_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key", "cookie"})


class BodyError(Exception):
    """The body cannot be accepted: `status` is 415 (type) or 422 (content)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class Body:
    """A dataclip body: JSON text the strict parser accepted, kept as the request sent
    it (PostgreSQL stores it without a parse and a dump in Python), or a value."""

    json: bytes | None = None
    value: Any = None
    size: int = 0  # bytes received

    def parsed(self) -> Any:
        return json.loads(self.json) if self.json is not None else self.value


EMPTY = Body(value={})


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def checked(value: Any, root: str = "body") -> Any:
    """`value` if every number is finite, every string free of NUL and lone surrogates and
    the nesting within the limit; BodyError 422 naming the field otherwise."""
    try:
        check_value(value, get_settings().json_max_depth, [root])
    except JsonRefused as exc:
        raise BodyError(422, f"The request was refused: {exc.message}") from exc
    return value


def parse_body(content_type: str | None, raw: bytes) -> Body:
    """The dataclip body for `raw` (multipart is handled by `parse_multipart`).

    Strict JSON only: NaN/Infinity/out-of-range numbers, NUL characters, unpaired
    surrogates and nesting beyond `LIGHTNING_JSON_MAX_DEPTH` are refused with 422."""
    kind = media_type(content_type)
    if not raw.strip():
        return EMPTY
    if kind == "application/json" or kind.endswith("+json") or kind == "":
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:  # the standard parser: its leniency and its messages
            return Body(value=checked(_json(raw, strict=bool(kind))), size=len(raw))
        if needs_check(raw, get_settings().json_max_depth):
            checked(value)
        return Body(json=raw, size=len(raw))
    if kind == "application/x-www-form-urlencoded":
        fields = parse_qs(_text(raw), keep_blank_values=True)
        form = {k: v[0] if len(v) == 1 else v for k, v in fields.items()}
        return Body(value=checked(form), size=len(raw))
    if kind in ("application/xml", "text/xml") or kind.endswith("+xml"):
        text = _text(raw)
        try:
            ElementTree.fromstring(text)
        except Exception as exc:  # defusedxml raises several kinds, all meaning "refused"
            raise BodyError(422, f"The XML body is not well-formed or not allowed: {exc}") from exc
        return Body(value=checked(text), size=len(raw))
    if kind.startswith("text/"):
        return Body(value=checked(_text(raw)), size=len(raw))
    raise BodyError(415, f"Unsupported content type '{kind}'. Send one of: {SUPPORTED}.")


def _json(raw: bytes, *, strict: bool) -> Any:
    try:
        return json.loads(raw)
    except RecursionError as exc:
        limit = get_settings().json_max_depth
        message = f"The JSON body is nested deeper than the {limit}-level limit."
        raise BodyError(422, message) from exc
    except UnicodeDecodeError as exc:
        raise BodyError(422, "The JSON body is not valid UTF-8.") from exc
    except json.JSONDecodeError as exc:
        if not strict:
            raise BodyError(
                415, f"Send a Content-Type header (the body is not JSON). Supported: {SUPPORTED}."
            ) from exc
        raise BodyError(
            422, f"The JSON body is invalid: {exc.msg} at line {exc.lineno}, column {exc.colno}."
        ) from exc
    except ValueError as exc:  # an integer of more than 4,300 digits
        raise BodyError(422, f"The JSON body has a number too long to read: {exc}") from exc


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyError(422, "The body is not valid UTF-8 text.") from exc


async def parse_multipart(raw: bytes, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    """Fields as strings; files as {filename, content_type, size, content_base64}."""
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": raw, "more_body": False}

    request = Request({"type": "http", "method": "POST", "headers": headers}, receive)
    try:
        form = await request.form(max_files=100, max_fields=1000)
    except Exception as exc:  # starlette raises MultiPartException / ValueError variants
        raise BodyError(422, f"The multipart body is invalid: {exc}") from exc
    result: dict[str, Any] = {}
    for key, value in form.multi_items():
        item: Any = value
        if isinstance(value, UploadFile):
            content = await value.read()
            item = {
                "filename": value.filename,
                "content_type": value.content_type,
                "size": len(content),
                "content_base64": base64.b64encode(content).decode(),
            }
        if key in result:
            existing = result[key]
            result[key] = [*existing, item] if isinstance(existing, list) else [existing, item]
        else:
            result[key] = item
    return checked(result)
