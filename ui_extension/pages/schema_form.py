"""A credential form generated from an adaptor's configuration JSON schema, and back.

Each top-level property becomes one labelled input: strings (`format: uri` ->
url, `email` -> email), numbers, booleans (checkbox), `enum` (select), objects
and arrays (a JSON textarea). `writeOnly` properties are password inputs that
are never refilled: left blank on edit, the stored value is kept (the service's
`merge_edit` does that). Inputs are named `body.<property>`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lightning_flows.core.errors import InvalidInput

PREFIX = "body."


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    kind: str  # text, password, url, email, number, integer, checkbox, select, json
    required: bool
    description: str = ""
    example: str = ""
    options: tuple[str, ...] = ()
    nullable: bool = False
    secret: bool = False  # writeOnly: never shown again once saved

    @property
    def input_name(self) -> str:
        return PREFIX + self.name

    @property
    def input_id(self) -> str:
        return "field-" + "".join(c if c.isalnum() else "-" for c in self.name)


def _types(spec: dict[str, Any]) -> list[str]:
    """Declared types, looking into `anyOf`/`oneOf` alternatives (`string` or `null`)."""
    declared = spec.get("type")
    found = list(declared) if isinstance(declared, list) else [declared] if declared else []
    for key in ("anyOf", "oneOf"):
        for option in spec.get(key) or []:
            if isinstance(option, dict):
                found += _types(option)
    return found or ["string"]


def _kind(spec: dict[str, Any], types: list[str]) -> str:
    if spec.get("writeOnly") and not {"object", "array"} & set(types):
        return "password"
    if spec.get("enum"):
        return "select"
    main = next((t for t in types if t != "null"), "string")
    if main == "string":
        return {"uri": "url", "email": "email"}.get(str(spec.get("format")), "text")
    if main == "boolean":
        return "checkbox"
    if main in ("object", "array"):
        return "json"
    return main  # number, integer


def form_fields(schema: dict[str, Any]) -> list[FormField]:
    required = set(schema.get("required") or [])
    fields = []
    for name, spec in (schema.get("properties") or {}).items():
        if not isinstance(spec, dict):
            continue
        types = _types(spec)
        examples = spec.get("examples") or []
        example = examples[0] if examples and not spec.get("writeOnly") else ""
        fields.append(
            FormField(
                name=name,
                label=str(spec.get("title") or name),
                kind=_kind(spec, types),
                required=name in required,
                description=str(spec.get("description") or ""),
                example=example if isinstance(example, str) else json.dumps(example),
                options=tuple(str(v) for v in spec.get("enum") or ()),
                nullable="null" in types,
                secret=bool(spec.get("writeOnly")),
            )
        )
    return fields


@dataclass
class ParsedForm:
    body: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def _convert(item: FormField, raw: str) -> Any:
    if item.kind == "integer":
        return int(raw)
    if item.kind == "number":
        return float(raw) if any(c in raw for c in ".eE") else int(raw)
    if item.kind == "json":
        return json.loads(raw)
    return raw


def body_from_form(fields: list[FormField], form: Mapping[str, Any]) -> dict[str, Any]:
    """The credential body typed into the form; InvalidInput naming each unusable field."""
    parsed = ParsedForm()
    for item in fields:
        if item.kind == "checkbox":
            parsed.body[item.name] = item.input_name in form
            continue
        raw = str(form.get(item.input_name) or "")
        if item.kind != "password":
            raw = raw.strip()
        if raw == "":
            if item.secret:
                parsed.body[item.name] = ""  # kept on edit; dropped on create (`without_blanks`)
            continue
        try:
            parsed.body[item.name] = _convert(item, raw)
        except ValueError:
            what = (
                "JSON"
                if item.kind == "json"
                else f"an {item.kind}"
                if item.kind == "integer"
                else "a number"
            )
            parsed.errors.append(f"{item.label}: enter {what}.")
    if parsed.errors:
        raise InvalidInput(" ".join(parsed.errors))
    return parsed.body


def refill(fields: list[FormField], body: Mapping[str, Any]) -> dict[str, str]:
    """Input values for an edit form: never a secret (password fields stay empty)."""
    values: dict[str, str] = {}
    for item in fields:
        value = body.get(item.name)
        if item.secret or value is None:
            continue
        if item.kind == "json":
            values[item.name] = json.dumps(value, indent=2)
        elif item.kind == "checkbox":
            values[item.name] = "on" if value else ""
        else:
            values[item.name] = str(value)
    return values


def without_blanks(body: dict[str, Any]) -> dict[str, Any]:
    """A new credential's body without the secret fields left blank."""
    return {k: v for k, v in body.items() if v != ""}
