"""Requests and answers of "run this step" and of workflow test cases."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, model_validator

NAME_MAX = 255


class DraftJob(BaseModel):
    """The step as it is in the editor (unsaved): its code, adaptor and credential."""

    body: str = Field(default="", max_length=1_000_000)
    adaptor: str = Field(default="@openfn/language-common@latest", min_length=1, max_length=255)
    project_credential_id: uuid.UUID | None = None
    name: str | None = Field(default=None, max_length=255)


class StepRunRequest(BaseModel):
    """Run one step alone on a dataclip of the project or on a given input state."""

    dataclip_id: uuid.UUID | None = None
    body: Any = Field(default=None, description="The input state, e.g. {'data': {...}}.")
    job: DraftJob | None = Field(
        default=None, description="The step's unsaved code; without it, the saved step runs."
    )


class LogLineOut(BaseModel):
    timestamp: str
    level: str
    source: str
    message: str


class StepRunResult(BaseModel):
    """What the step did: exit reason, its output state (no `configuration`) and logs."""

    exit_reason: str
    error_type: str | None = None
    error_message: str | None = None
    output: Any = None
    logs: list[LogLineOut] = Field(default_factory=list)
    duration_ms: int


class TestCaseWrite(BaseModel):
    """A test case: a named input of the project and what the run must give back.

    `expected_data` is compared (deep-equal) with the final state's `data`;
    `assertion` is a JS expression on the final state (`state.data.id === 5`).
    At least one of them is needed; `input` is a named dataclip's name, or give
    `input_dataclip_id`.
    """

    __test__ = False

    name: str = Field(min_length=1, max_length=NAME_MAX)
    input: str | None = Field(default=None, max_length=255, description="A named dataclip.")
    input_dataclip_id: uuid.UUID | None = None
    expected_data: Any = None
    assertion: str | None = Field(default=None, max_length=10_000)

    @model_validator(mode="after")
    def _something_to_check(self) -> TestCaseWrite:
        if "expected_data" not in self.model_fields_set and not (self.assertion or "").strip():
            raise ValueError("give an 'expected_data' or an 'assertion' (or both)")
        if (self.input is None) == (self.input_dataclip_id is None):
            raise ValueError("give the input as 'input' (a dataclip's name) or 'input_dataclip_id'")
        return self


class TestCasePublic(BaseModel):
    __test__ = False

    id: uuid.UUID
    workflow_id: uuid.UUID
    name: str
    input: str | None = Field(description="The input dataclip's name.")
    input_dataclip_id: uuid.UUID | None
    expected_data: Any = None
    has_expected_data: bool
    assertion: str | None
    inserted_at: datetime
    updated_at: datetime


class CaseResult(BaseModel):
    """One test case's result; `diff` (unified, expected vs actual) when `data` differs."""

    name: str
    workflow: str
    passed: bool
    problems: list[str] = Field(default_factory=list)
    diff: str | None = None
    output: Any = None
    logs: list[LogLineOut] = Field(default_factory=list)


class TestRunResult(BaseModel):
    __test__ = False

    passed: int
    failed: int
    results: list[CaseResult]


class DraftTestRequest(BaseModel):
    """Run the workflow's test cases on the editor's unsaved document."""

    document: dict[str, Any]
