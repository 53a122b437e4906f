"""Named dataclips: an input or output a person keeps (test data, a case to replay).

A named dataclip survives the project's data retention (maintenance/retention.py
skips named rows), is unique by name within its project and can be found by name.
"""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from lightning_flows.core.errors import Conflict, InvalidInput
from lightning_flows.core.models import touch
from lightning_flows.core.pagination import Page, PageParams, paginate
from lightning_flows.runs.models import Dataclip
from lightning_flows.runs.queries import like_pattern
from lightning_flows.runs.schemas import NamedDataclip
from lightning_flows.testing.models import WorkflowTestCase
from lightning_flows.workflows.models import Workflow

NAME_MAX = 255


def clean_name(name: str | None) -> str | None:
    """The name to store: trimmed; blank means "no name"."""
    name = (name or "").strip()
    if len(name) > NAME_MAX:
        raise InvalidInput(f"name: at most {NAME_MAX} characters (this one has {len(name)}).")
    return name or None


def set_name(session: Session, dataclip: Dataclip, name: str | None) -> Dataclip:
    """Name (keep) or un-name a dataclip; commits.

    Conflict when another dataclip of the project has that name, or when a test
    case still uses the dataclip and the name would be removed.
    """
    name = clean_name(name)
    if name == dataclip.name:
        return dataclip
    if dataclip.wiped_at is not None and name is not None:
        raise InvalidInput(
            "This dataclip was wiped by the project's data retention policy: there is "
            "nothing left to keep."
        )
    if name is None:
        used = session.exec(
            select(WorkflowTestCase.name, Workflow.name)
            .join(Workflow, col(Workflow.id) == col(WorkflowTestCase.workflow_id))
            .where(col(WorkflowTestCase.input_dataclip_id) == dataclip.id)
        ).first()
        if used is not None:
            raise Conflict(
                f"Test case '{used[0]}' of workflow '{used[1]}' uses this input: delete the "
                "test case or give it another input before removing the name."
            )
    _refuse_taken(session, dataclip.project_id, name, dataclip.id)
    dataclip.name = name
    touch(dataclip)
    session.add(dataclip)
    try:
        session.commit()
    except IntegrityError as exc:  # named at the same moment by someone else
        session.rollback()
        raise _taken(name) from exc
    session.refresh(dataclip)
    return dataclip


def _taken(name: str | None) -> Conflict:
    return Conflict(f"Another dataclip of this project is already named '{name}'.")


def _refuse_taken(
    session: Session, project_id: uuid.UUID, name: str | None, own_id: uuid.UUID | None
) -> None:
    if name is None:
        return
    other = session.exec(
        select(Dataclip.id).where(Dataclip.project_id == project_id, Dataclip.name == name)
    ).first()
    if other is not None and other != own_id:
        raise _taken(name)


def find_named(session: Session, project_id: uuid.UUID, name: str) -> Dataclip | None:
    """The project's dataclip with exactly this name."""
    return session.exec(
        select(Dataclip).where(Dataclip.project_id == project_id, Dataclip.name == name)
    ).first()


def list_named(
    session: Session, project_id: uuid.UUID, params: PageParams, name: str | None = None
) -> Page[NamedDataclip]:
    """The project's named dataclips by name; `name` is a case-insensitive substring."""
    statement = select(Dataclip).where(
        Dataclip.project_id == project_id, col(Dataclip.name).is_not(None)
    )
    text = (name or "").strip()
    if text:
        statement = statement.where(col(Dataclip.name).ilike(like_pattern(text), escape="\\"))
    page = paginate(session, statement.order_by(col(Dataclip.name)), params)
    items = [NamedDataclip.model_validate(c, from_attributes=True) for c in page.items]
    return Page[NamedDataclip](
        items=items, page=page.page, page_size=page.page_size, total=page.total
    )


def create_named(session: Session, project_id: uuid.UUID, name: str, body: object) -> Dataclip:
    """A new saved input with a name (a test case's input brought by a project file)."""
    clean = clean_name(name)
    if clean is None:
        raise InvalidInput("name: a named input needs a name.")
    _refuse_taken(session, project_id, clean, None)
    clip = Dataclip(project_id=project_id, type="saved_input", body=body, name=clean)
    session.add(clip)
    session.flush()
    return clip
