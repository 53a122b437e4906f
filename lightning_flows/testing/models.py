"""A workflow's test cases: a named input dataclip and what the run must give back."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from lightning_flows.core.models import created_at, fk, json_column, uuid_pk


class WorkflowTestCase(SQLModel, table=True):
    """Run the workflow on `input_dataclip_id`; the final state's `data` must deep-equal
    `expected_data` (when set) and the JS `assertion` on the final state must be true
    (when set)."""

    __tablename__ = "workflow_test_cases"
    __table_args__ = (UniqueConstraint("workflow_id", "name", name="uq_workflow_test_cases_name"),)

    id: uuid.UUID = uuid_pk()
    workflow_id: uuid.UUID = fk("workflows.id")
    name: str = Field(max_length=255)
    input_dataclip_id: uuid.UUID | None = fk("dataclips.id", ondelete="SET NULL", nullable=True)
    expected_data: Any = json_column()
    has_expected_data: bool = Field(
        default=False, description="True when `expected_data` is set (it may be JSON null)."
    )
    assertion: str | None = Field(default=None, max_length=10_000)
    inserted_at: datetime = created_at()
    updated_at: datetime = created_at()
