"""Paginated list responses: `?page=1&page_size=20` -> `{items, page, page_size, total}`."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import func
from sqlmodel import Session, select
from sqlmodel.sql.expression import SelectOfScalar

T = TypeVar("T")
MAX_OFFSET = 2**53  # a page beyond every table; larger offsets overflow the databases' integers


class Page(BaseModel, Generic[T]):
    items: list[T]
    page: int
    page_size: int
    total: int


class PageParams(BaseModel):
    page: int = 1
    page_size: int = 20

    @property
    def offset(self) -> int:
        return min((self.page - 1) * self.page_size, MAX_OFFSET)


def paginate(session: Session, statement: SelectOfScalar[Any], params: PageParams) -> Page[Any]:
    """Run `statement` for one page and count the whole result."""
    total = session.exec(
        select(func.count()).select_from(statement.order_by(None).subquery())
    ).one()
    items = list(session.exec(statement.offset(params.offset).limit(params.page_size)).all())
    return Page(items=items, page=params.page, page_size=params.page_size, total=total)
