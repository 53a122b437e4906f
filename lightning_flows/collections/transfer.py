"""Importing and exporting a collection's items as CSV or JSON (the collections page).

JSON is an array of `{"key", "value"}` objects (or one object of key -> value);
values are any JSON and are stored as JSON text. CSV has a `key,value` header;
a value that is JSON text is kept as it is, anything else is stored as a JSON
string. Exports give back what imports take.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from lightning_flows.core.errors import InvalidInput

MAX_IMPORT_ITEMS = 50_000


def parse_json_value(text: str, key: str) -> str:
    """An item value typed by a person: it must be JSON (quote plain text)."""
    try:
        json.loads(text)
    except ValueError as exc:
        raise InvalidInput(
            f"The value of '{key}' is not JSON: write text in double quotes (\"like this\"), "
            f"or a number, object or list ({exc.args[0]})."
        ) from exc
    return text


def read_import(content: str, filename: str) -> list[tuple[str, str]]:
    """(key, value text) pairs of an uploaded file; the format follows its extension
    (.csv or .json), else its first character."""
    stripped = content.lstrip("\ufeff").strip()
    if not stripped:
        raise InvalidInput("The file is empty: choose a CSV or JSON file with items.")
    as_json = filename.lower().endswith(".json") or (
        not filename.lower().endswith(".csv") and stripped[0] in "[{"
    )
    pairs = _from_json(stripped) if as_json else _from_csv(stripped)
    if len(pairs) > MAX_IMPORT_ITEMS:
        raise InvalidInput(f"Import at most {MAX_IMPORT_ITEMS} items at a time.")
    for key, _value in pairs:
        if not key or len(key) > 1024:
            raise InvalidInput(f"Every item needs a key of 1 to 1024 characters (found {key!r}).")
    return pairs


def _from_json(text: str) -> list[tuple[str, str]]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InvalidInput(f"The file is not valid JSON: {exc}") from exc
    if isinstance(data, dict):
        return [(str(k), json.dumps(v)) for k, v in data.items()]
    if not isinstance(data, list):
        raise InvalidInput('JSON imports are a list of {"key": ..., "value": ...} objects.')
    pairs = []
    for index, entry in enumerate(data):
        if not isinstance(entry, dict) or "key" not in entry or "value" not in entry:
            raise InvalidInput(f'Item {index + 1} needs a "key" and a "value".')
        pairs.append((str(entry["key"]), json.dumps(entry["value"])))
    return pairs


def _from_csv(text: str) -> list[tuple[str, str]]:
    rows = csv.DictReader(io.StringIO(text))
    if not rows.fieldnames or not {"key", "value"} <= set(rows.fieldnames):
        raise InvalidInput("A CSV import needs a header row with 'key' and 'value' columns.")
    pairs = []
    for row in rows:
        raw = row.get("value") or ""
        try:
            json.loads(raw)
            value = raw
        except ValueError:
            value = json.dumps(raw)
        pairs.append((str(row.get("key") or ""), value))
    return pairs


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def export_json(items: Iterator[Any]) -> Iterator[str]:
    """A JSON array of `{"key", "value"}`, streamed."""
    yield "["
    separator = ""
    for item in items:
        yield separator + json.dumps({"key": item.key, "value": _value(item.value)})
        separator = ",\n"
    yield "]\n"


def export_csv(items: Iterator[Any]) -> Iterator[str]:
    """CSV with a `key,value` header; values as their JSON text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["key", "value"])
    for item in items:
        writer.writerow([item.key, item.value])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()
