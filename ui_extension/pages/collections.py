"""The Collections pages: a project's collections, and a table of one collection's
items (search by key pattern, add, edit, delete, import and export CSV/JSON).

Viewers read; editors and above change items and collections. Every change is
audited with the person who made it.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response, StreamingResponse
from sqlmodel import Session, col, select
from starlette.datastructures import UploadFile

from lightning_flows.accounts.models import User
from lightning_flows.accounts.policy import Action
from lightning_flows.api import web
from lightning_flows.api.deps import SessionDep
from lightning_flows.collections import items, service, transfer
from lightning_flows.collections.tokens import endpoint
from lightning_flows.core.db import session_scope
from lightning_flows.core.errors import DomainError, InvalidInput
from ui_extension.pages.common import PageRoute, project_access, project_context
from ui_extension.templating import redirect, render

router = APIRouter(prefix="/projects/{project_id}/collections", route_class=PageRoute)
PAGE_SIZE = 50
MAX_IMPORT_BYTES = 20_000_000


def _list_page(
    request: Request,
    db: Session,
    user: User,
    project_id: uuid.UUID,
    status: int = 200,
    **extra: object,
) -> Response:
    access = project_access(db, user, project_id, Action.READ_COLLECTIONS)
    context = project_context(
        access,
        "collections",
        collections=service.list_collections(db, project_id),
        name_rule=service.NAME_RULE,
        endpoint=endpoint(),
        **extra,
    )
    return render(request, "pages/collections.html", context, user=user, status_code=status)


@router.get("")
def list_collections(
    request: Request, db: SessionDep, user: web.SessionUser, project_id: uuid.UUID
) -> Response:
    return _list_page(request, db, user, project_id)


@router.post("", dependencies=[web.CSRFProtected])
def create_collection(
    request: Request,
    db: SessionDep,
    user: web.SessionUser,
    project_id: uuid.UUID,
    name: Annotated[str, Form(max_length=255)],
) -> Response:
    project_access(db, user, project_id, Action.WRITE_COLLECTIONS)
    try:
        service.create_collection(db, project_id, name.strip(), user.id)
    except DomainError as exc:
        db.rollback()
        return _list_page(
            request, db, user, project_id, exc.status_code, error=exc.message, form_name=name
        )
    return redirect(f"/projects/{project_id}/collections/{name.strip()}")


@router.post("/{name}/delete", dependencies=[web.CSRFProtected])
def delete_collection(
    db: SessionDep, user: web.SessionUser, project_id: uuid.UUID, name: str
) -> Response:
    project_access(db, user, project_id, Action.WRITE_COLLECTIONS)
    service.delete_collection(db, project_id, name, user.id)
    return redirect(f"/projects/{project_id}/collections")


def _search_pattern(text: str) -> str:
    """What the search box means: a pattern with `*`, else keys containing the text."""
    text = text.strip()
    if not text:
        return "*"
    return text if "*" in text else f"*{text}*"


def _items_page(
    request: Request,
    db: Session,
    user: User,
    project_id: uuid.UUID,
    name: str,
    status: int = 200,
    **extra: object,
) -> Response:
    access = project_access(db, user, project_id, Action.READ_COLLECTIONS)
    collection = service.get_by_name(db, project_id, name)
    search = request.query_params.get("key", "")
    cursor = request.query_params.get("cursor") or None
    query = items.ItemQuery(
        pattern=_search_pattern(search),
        after=items.decode_cursor(cursor) if cursor else None,
        limit=PAGE_SIZE,
    )
    rows, next_cursor = items.page(db, collection, query)
    context = project_context(
        access,
        "collections",
        collection=collection,
        rows=rows,
        search=search,
        next_cursor=next_cursor,
        paged=cursor is not None,
        matching=items.count(db, collection, query),
        total=items.count(db, collection),
        changes=service.recent_changes(db, collection),
        actors=_emails(db, service.recent_changes(db, collection)),
        **extra,
    )
    return render(request, "pages/collection.html", context, user=user, status_code=status)


@router.get("/{name}")
def show_collection(
    request: Request, db: SessionDep, user: web.SessionUser, project_id: uuid.UUID, name: str
) -> Response:
    return _items_page(request, db, user, project_id, name)


@router.post("/{name}/items", dependencies=[web.CSRFProtected])
def save_item(
    request: Request,
    db: SessionDep,
    user: web.SessionUser,
    project_id: uuid.UUID,
    name: str,
    key: Annotated[str, Form(max_length=1024)],
    value: Annotated[str, Form()],
) -> Response:
    """Add an item, or replace the value of the item with this key."""
    project_access(db, user, project_id, Action.WRITE_COLLECTIONS)
    collection = service.get_by_name(db, project_id, name)
    try:
        if not key.strip():
            raise InvalidInput("Give the item a key.")
        text = transfer.parse_json_value(value, key)
        items.put_many(db, collection, [(key.strip(), text)], user.id, via="ui")
    except DomainError as exc:
        db.rollback()
        return _items_page(
            request, db, user, project_id, name, exc.status_code,
            error=exc.message, form_key=key, form_value=value,
        )  # fmt: skip
    return redirect(f"/projects/{project_id}/collections/{name}?saved={key.strip()}")


@router.post("/{name}/items/delete", dependencies=[web.CSRFProtected])
def delete_item(
    db: SessionDep,
    user: web.SessionUser,
    project_id: uuid.UUID,
    name: str,
    key: Annotated[str, Form(max_length=1024)],
) -> Response:
    project_access(db, user, project_id, Action.WRITE_COLLECTIONS)
    collection = service.get_by_name(db, project_id, name)
    items.delete_one(db, collection, key, user.id, via="ui")
    return redirect(f"/projects/{project_id}/collections/{name}")


@router.post("/{name}/import", dependencies=[web.CSRFProtected])
async def import_items(
    request: Request, db: SessionDep, user: web.SessionUser, project_id: uuid.UUID, name: str
) -> Response:
    """Upsert every item of an uploaded CSV or JSON file."""
    project_access(db, user, project_id, Action.WRITE_COLLECTIONS)
    collection = service.get_by_name(db, project_id, name)
    form = await request.form()
    upload = form.get("file")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise InvalidInput("Choose a CSV or JSON file to import.")
        content = await upload.read(MAX_IMPORT_BYTES + 1)
        if len(content) > MAX_IMPORT_BYTES:
            raise InvalidInput(f"Import files are limited to {MAX_IMPORT_BYTES // 1_000_000} MB.")
        pairs = transfer.read_import(content.decode("utf-8", errors="replace"), upload.filename)
        count = items.put_many(db, collection, pairs, user.id, via="ui import")
    except DomainError as exc:
        db.rollback()
        return _items_page(request, db, user, project_id, name, exc.status_code, error=exc.message)
    return redirect(f"/projects/{project_id}/collections/{name}?imported={count}")


@router.get("/{name}/export.{fmt}")
def export_items(
    db: SessionDep, user: web.SessionUser, project_id: uuid.UUID, name: str, fmt: str
) -> Response:
    project_access(db, user, project_id, Action.READ_COLLECTIONS)
    collection = service.get_by_name(db, project_id, name)
    if fmt not in ("csv", "json"):
        raise InvalidInput("Export as .csv or .json.")
    found = items.Page()
    rows = items.iter_page(session_scope, collection.id, items.ItemQuery(limit=10**12), found)
    body = transfer.export_csv(rows) if fmt == "csv" else transfer.export_json(rows)
    media = "text/csv" if fmt == "csv" else "application/json"
    return StreamingResponse(
        (chunk.encode() for chunk in body),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{collection.name}.{fmt}"'},
    )


def _emails(db: Session, events: list) -> dict[uuid.UUID, str]:
    ids = {e.actor_id for e in events if e.actor_id}
    if not ids:
        return {}
    rows = db.exec(select(User.id, User.email).where(col(User.id).in_(ids))).all()
    return dict(rows)
