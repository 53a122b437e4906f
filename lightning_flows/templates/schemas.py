"""Request and response bodies of workflow templates."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, Field

Scope = Literal["builtin", "instance", "project"]


class TemplatePublic(BaseModel):
    id: uuid.UUID
    name: str
    description: str
    scope: Scope
    project_id: uuid.UUID | None = None
    spec: str = Field(description="project.yaml with the template's one workflow")
    steps: list[str] = Field(default_factory=list, description="The job names, in order")
    trigger: str | None = Field(default=None, description="webhook, cron or kafka")


class TemplateCreate(BaseModel):
    """Save a workflow as a template of this project, or of the instance (superusers)."""

    workflow_id: uuid.UUID
    name: str = Field(min_length=1, max_length=255)
    description: str = Field(default="", max_length=2000)
    scope: Literal["project", "instance"] = "project"


class WorkflowFromTemplate(BaseModel):
    template_id: uuid.UUID
    name: str = Field(min_length=1, max_length=255, description="The new workflow's name")
