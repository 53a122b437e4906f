"""A project document's `collections` and `channels`: stored, exported, round-tripped.

Matched like workflows: by `id`, else by name; a new entry may bring its own
id (OpenFn's CLI makes them up). Entries the document does not mention are
kept; `delete: true` removes one. Channels are only stored (no proxy yet), so
enabling one is refused with a message saying so.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from lightning_flows.collections.service import NAME_PATTERN, NAME_RULE
from lightning_flows.core.models import touch
from lightning_flows.projects.models import Project
from lightning_flows.projects.spec_models import Channel, Collection
from lightning_flows.provisioning.credentials import CredentialLinks
from lightning_flows.provisioning.spec import ProjectSpec, hyphenate
from lightning_flows.provisioning.state import KeyAllocator

CHANNELS_NOT_YET = (
    "channels are stored but not proxied yet on this platform: save it with enabled: false"
)
Row = Collection | Channel


@dataclass
class ExtrasPlan:
    """The collection and channel rows to write (validated) and those to delete."""

    upserts: list[tuple[type[Row], uuid.UUID, dict[str, Any]]] = field(default_factory=list)
    deletes: list[Row] = field(default_factory=list)
    hints: dict[uuid.UUID, str] = field(default_factory=dict)

    def write(self, session: Session, project_id: uuid.UUID) -> None:
        for gone in self.deletes:
            session.delete(gone)
        session.flush()
        for model, row_id, values in self.upserts:
            row: Any = session.get(model, row_id)
            if row is None:
                session.add(model(id=row_id, project_id=project_id, **values))
            elif any(getattr(row, k) != v for k, v in values.items()):
                for key, value in values.items():
                    setattr(row, key, value)
                touch(row)
                session.add(row)
        session.flush()


def plan_extras(
    session: Session,
    project: Project | None,
    spec: ProjectSpec,
    credentials: CredentialLinks,
    problems: list[dict[str, str]],
) -> ExtrasPlan:
    plan = ExtrasPlan()
    for kind, model, entries in (
        ("collections", Collection, spec.collections),
        ("channels", Channel, spec.channels),
    ):
        stored = _stored(session, model, project)
        for key, entry in entries.items():
            loc = f"{kind}.{key}"
            row = _match(session, model, stored, project, entry, key, loc, problems)
            if entry.delete:
                if isinstance(row, model):
                    plan.deletes.append(row)
                continue
            values: dict[str, Any] = {"name": entry.name or key}
            if model is Collection and not NAME_PATTERN.match(values["name"]):
                problems.append({"loc": f"{loc}.name", "message": f"use {NAME_RULE}"})
            if model is Channel:
                values.update(_channel_values(entry, row, credentials, loc, problems))
            row_id = row.id if isinstance(row, model) else (row or uuid.uuid4())
            plan.upserts.append((model, row_id, values))
            plan.hints[row_id] = key
    return plan


def _stored(session: Session, model: Any, project: Project | None) -> list[Any]:
    if project is None:
        return []
    return list(session.exec(select(model).where(model.project_id == project.id)).all())


def _match(
    session: Session,
    model: Any,
    stored: list[Any],
    project: Project | None,
    entry: Any,
    key: str,
    loc: str,
    problems: list[dict[str, str]],
) -> Any:
    """The stored row an entry names, or the id a new row takes (None: a fresh one)."""
    if entry.id is not None:
        row = session.get(model, entry.id)
        if row is None:
            return entry.id
        if project is None or row.project_id != project.id:
            problems.append({"loc": f"{loc}.id", "message": f"{entry.id} is another project's"})
            return None
        return row
    name = entry.name or key
    return next((r for r in stored if r.name == name), None)


def _channel_values(
    entry: Any, row: Any, credentials: CredentialLinks, loc: str, problems: list[dict[str, str]]
) -> dict[str, Any]:
    values: dict[str, Any] = {"enabled": entry.enabled}
    if entry.enabled:
        problems.append({"loc": f"{loc}.enabled", "message": CHANNELS_NOT_YET})
    url = entry.destination_url or getattr(row, "destination_url", None)
    if not url:
        problems.append({"loc": f"{loc}.destination_url", "message": "a channel needs one"})
    values["destination_url"] = url
    if entry.destination_credential is not None:
        found = credentials.ids.get(entry.destination_credential)
        if found is None:
            problems.append(
                {
                    "loc": f"{loc}.destination_credential",
                    "message": f"unknown credential '{entry.destination_credential}'",
                }
            )
        values["destination_credential_id"] = found
    else:
        values["destination_credential_id"] = credentials.resolve_id(
            entry.destination_credential_id
        )
    return values


def project_extras(
    session: Session, project_id: uuid.UUID, hints: dict[uuid.UUID, str]
) -> dict[str, Any]:
    """`collections` and `channels` of a state document, keyed like the spec."""
    result: dict[str, Any] = {}
    for kind, model in (("collections", Collection), ("channels", Channel)):
        rows: list[Any] = list(
            session.exec(
                select(model).where(model.project_id == project_id).order_by(col(model.name))
            ).all()
        )
        keys = KeyAllocator()
        items = {}
        for row in rows:
            item: dict[str, Any] = {"id": str(row.id), "name": row.name}
            if isinstance(row, Channel):
                item["destination_url"] = row.destination_url
                item["enabled"] = row.enabled
                item["destination_credential_id"] = _str(row.destination_credential_id)
            items[keys.take(hints.get(row.id), hyphenate(row.name))] = item
        result[kind] = dict(sorted(items.items()))
    return result


def _str(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)
