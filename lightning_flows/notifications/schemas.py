"""Request and response bodies of the failure alert API."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field

from lightning_flows.projects.models import Digest


class AlertSettings(BaseModel):
    """The caller's alert settings in one project."""

    enabled: bool = Field(description="Email me when a run fails, crashes, is killed or lost.")
    workflow_ids: list[uuid.UUID] | None = Field(
        description="Only these workflows; null means every workflow of the project."
    )
    digest: Digest = Field(description="A summary of runs, failures and top errors by email.")


class AlertSettingsUpdate(BaseModel):
    """Fields left out keep their value; `"workflow_ids": null` means the whole project."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool | None = None
    workflow_ids: list[uuid.UUID] | None = Field(default=None, max_length=1000)
    digest: Digest | None = None


class AlertWebhookUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        min_length=1,
        max_length=2048,
        description="http(s) URL that receives a JSON POST per alert (e.g. a chat webhook).",
    )


class AlertWebhookPublic(BaseModel):
    """Whether the project has an alert webhook; its URL is shown without path or query
    (they often hold a token)."""

    configured: bool
    url_hint: str | None = Field(default=None, examples=["https://hooks.example.org/…"])
