"""Saved workflow templates: project.yaml of one workflow, kept by a project or the instance."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from lightning_flows.core.models import created_at, fk, uuid_pk


class WorkflowTemplate(SQLModel, table=True):
    __tablename__ = "workflow_templates"

    id: uuid.UUID = uuid_pk()
    project_id: uuid.UUID | None = fk("projects.id", nullable=True)
    """None: an instance template, offered to every project."""
    name: str = Field(max_length=255)
    description: str = Field(default="", max_length=2000)
    tags: str = Field(default="", max_length=255)
    """Comma-separated words the gallery shows."""
    spec: str = Field(sa_column=Column(Text(), nullable=False))
    """project.yaml text with one workflow (no ids, no credentials)."""
    created_by: uuid.UUID | None = fk("users.id", ondelete="SET NULL", nullable=True)
    inserted_at: datetime = created_at()
    updated_at: datetime = created_at()
