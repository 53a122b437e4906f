"""A project's use of its monthly run allowance, one row per project and month."""

from __future__ import annotations

import uuid

from sqlmodel import Field, SQLModel


class ProjectUsage(SQLModel, table=True):
    """Runs accepted in a calendar month (`YYYY-MM`, UTC) and the alerts already sent.

    A counter, not a count of rows: runs deleted by retention still count, and a
    slot is taken in its own short transaction before a request is stored.
    """

    __tablename__ = "project_usage"

    project_id: uuid.UUID = Field(foreign_key="projects.id", ondelete="CASCADE", primary_key=True)
    month: str = Field(max_length=7, primary_key=True)
    runs: int = 0
    alerted_percent: int = Field(default=0, description="0, 80 or 100: the last alert sent.")
