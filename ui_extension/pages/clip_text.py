"""Dataclip bodies for pages without loading big ones whole: the database measures a
body and cuts the part a page shows (a 10 MB step output costs the inspector a few
kilobytes). Small bodies are pretty-printed; big ones are shown as stored, in parts
of `PART_CHARS`, with a download link for all of it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Text, cast, func, select
from sqlmodel import Session, col

from lightning_flows.runs.models import Dataclip
from ui_extension.pages.formatting import BODY_PREVIEW_CHARS, pretty_json
from ui_extension.pages.inspector import DataclipView

PRETTY_MAX_CHARS = 256_000  # bodies up to this size are parsed and pretty-printed
PART_CHARS = 1_000_000  # the dataclip page shows big bodies in parts this long


def _text() -> Any:
    return cast(Dataclip.body, Text)


def _view(row: Any, text: str, size: int, limit: int | None) -> DataclipView:
    wiped = row.wiped_at is not None
    if not wiped and size <= PRETTY_MAX_CHARS:
        text = pretty_json(json.loads(text)) if text else ""
        size = len(text)
    cut = limit is not None and (len(text) > limit or size > len(text))
    return DataclipView(
        id=row.id,
        type=row.type,
        text="" if wiped else text[:limit] if limit is not None else text,
        full_size=0 if wiped else size,
        truncated=cut and not wiped,
        wiped=wiped,
        inserted_at=row.inserted_at,
        name=row.name,
    )


def _rows(db: Session, ids: Iterable[uuid.UUID], start: int, count: int) -> list[Any]:
    text = _text()
    statement = select(
        col(Dataclip.id),
        col(Dataclip.type),
        col(Dataclip.wiped_at),
        col(Dataclip.inserted_at),
        col(Dataclip.name),
        func.length(text).label("size"),
        func.substr(text, start + 1, count).label("part"),
    ).where(col(Dataclip.id).in_(list(ids)))
    return list(db.execute(statement).all())


def previews(db: Session, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, DataclipView]:
    """The inspector's previews: the first `BODY_PREVIEW_CHARS` of each body."""
    rows = _rows(db, ids, 0, max(PRETTY_MAX_CHARS, BODY_PREVIEW_CHARS))
    return {r.id: _view(r, r.part or "", r.size or 0, BODY_PREVIEW_CHARS) for r in rows}


def part(db: Session, dataclip_id: uuid.UUID, number: int) -> tuple[DataclipView, int] | None:
    """Part `number` (from 1) of a body and the count of parts; small bodies are one part."""
    probe = _rows(db, [dataclip_id], 0, PRETTY_MAX_CHARS)
    if not probe:
        return None
    row = probe[0]
    size = row.size or 0
    if size <= PRETTY_MAX_CHARS:
        return _view(row, row.part or "", size, None), 1
    parts = -(-size // PART_CHARS)
    number = min(max(number, 1), parts)
    chunk = _rows(db, [dataclip_id], (number - 1) * PART_CHARS, PART_CHARS)[0]
    return _view(chunk, chunk.part or "", size, None), parts


def whole_text(db: Session, dataclip_id: uuid.UUID) -> str:
    """The whole body as JSON text, for a download."""
    value: Any = db.execute(select(_text()).where(col(Dataclip.id) == dataclip_id)).scalar_one()
    return str(value or "null")
