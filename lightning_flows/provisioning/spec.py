"""The project document: OpenFn's `project.yaml` spec, optionally carrying state ids.

A *spec* names everything by key (`workflows.<key>.jobs.<key>`); a *state*
document has the same keys with our UUIDs. `POST /api/provision` accepts both
(and OpenFn's list-shaped payload): an item with an `id` updates that record,
`delete: true` removes it, anything not mentioned is left as it is.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from lightning_flows.core.errors import InvalidInput
from lightning_flows.workflows.models import ConditionType, TriggerType, WebhookReply
from lightning_flows.workflows.schemas import KafkaConfiguration, WebhookResponseConfig

RETRY_FIELDS = ("max_attempts", "retry_delay_seconds", "retry_backoff", "retry_on_kill")
_RETRY_DEFAULTS = {"max_attempts": 1, "retry_delay_seconds": 0, "retry_backoff": 1.0}


def retry_extension(job: Any) -> dict[str, Any]:
    """A job's retry settings that differ from the defaults (for exported specs)."""
    get = job.get if isinstance(job, dict) else lambda k: getattr(job, k, None)
    return {
        k: get(k)
        for k in RETRY_FIELDS
        if get(k) is not None and get(k) != _RETRY_DEFAULTS.get(k, False)
    }


class _Item(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID | None = None
    delete: bool = False


class CredentialSpec(_Item):
    name: str = Field(min_length=1, max_length=255)
    owner: str = Field(min_length=3, max_length=255, description="The owner's email.")


class BodyPath(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(min_length=1)


class JobSpec(_Item):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    adaptor: str = Field(default="@openfn/language-common@latest", min_length=1, max_length=255)
    body: str | BodyPath = ""
    credential: str | None = Field(default=None, description="A key of `credentials`.")
    project_credential_id: uuid.UUID | None = None
    enabled: bool | None = Field(default=None, description="Accepted from old specs; unused.")
    keychain_credential_id: uuid.UUID | None = None
    # Extension fields (automatic retries; OpenFn's own tools ignore them).
    max_attempts: int | None = Field(default=None, ge=1, le=10)
    retry_delay_seconds: int | None = Field(default=None, ge=0, le=3600)
    retry_backoff: float | None = Field(default=None, ge=1.0, le=10.0)
    retry_on_kill: bool | None = None

    def retry_settings(self) -> dict[str, Any]:
        """The retry extension fields this spec sets."""
        return {k: v for k in RETRY_FIELDS if (v := getattr(self, k)) is not None}

    @field_validator("body", mode="before")
    @classmethod
    def _body_text_or_path(cls, value: Any) -> Any:
        if value is None:
            return ""
        if isinstance(value, dict):
            if set(value) != {"path"} or not isinstance(value["path"], str):
                raise ValueError("a body is text or {path: ./file.js}")
            return BodyPath(path=value["path"])
        if not isinstance(value, str | BodyPath):
            raise ValueError("a body is text or {path: ./file.js}")
        return value


class TriggerSpec(_Item):
    type: TriggerType | None = None
    enabled: bool = True
    cron_expression: str | None = Field(default=None, max_length=255)
    cron_timezone: str | None = Field(default=None, max_length=64)
    webhook_reply: WebhookReply | None = None
    webhook_response_config: WebhookResponseConfig | None = None
    custom_path: str | None = Field(default=None, max_length=255)
    cron_cursor_job: str | None = Field(default=None, description="A key of the jobs.")
    cron_cursor_job_id: uuid.UUID | None = None
    kafka_configuration: KafkaConfiguration | None = None


class EdgeSpec(_Item):
    source_trigger: str | None = None
    source_job: str | None = None
    target_job: str | None = None
    source_trigger_id: uuid.UUID | None = None
    source_job_id: uuid.UUID | None = None
    target_job_id: uuid.UUID | None = None
    condition_type: ConditionType = ConditionType.ALWAYS
    condition_expression: str | None = Field(default=None, max_length=10_000)
    condition_label: str | None = Field(default=None, max_length=255)
    enabled: bool = True

    @model_validator(mode="before")
    @classmethod
    def _older_condition_key(cls, data: Any) -> Any:
        """Older specs say `condition:` where newer ones say `condition_type:`."""
        if isinstance(data, dict) and "condition" in data:
            data = dict(data)
            condition = data.pop("condition")
            data.setdefault("condition_type", condition)
        return data


class WorkflowSpec(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: uuid.UUID | None = None
    delete: bool = False
    name: str | None = Field(default=None, min_length=1, max_length=255)
    on_worker_loss: Literal["resume", "mark_lost"] | None = Field(
        default=None,
        description="Lightning Flows extension: `mark_lost` when steps must never run twice "
        "(a run whose worker dies ends `lost`); `resume` (the default) resumes it elsewhere.",
    )
    jobs: dict[str, JobSpec] = Field(default_factory=dict)
    triggers: dict[str, TriggerSpec] = Field(default_factory=dict)
    edges: dict[str, EdgeSpec] = Field(default_factory=dict)


class CollectionSpec(_Item):
    name: str | None = Field(default=None, min_length=1, max_length=255)


class ChannelSpec(_Item):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    destination_url: str | None = Field(default=None, min_length=1, max_length=2048)
    enabled: bool = False
    destination_credential: str | None = Field(default=None, description="A key of credentials.")
    destination_credential_id: uuid.UUID | None = None


class ProjectSpec(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: uuid.UUID | None = None
    name: str = Field(min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=10_000)
    credentials: dict[str, CredentialSpec] = Field(default_factory=dict)
    collections: dict[str, CollectionSpec] = Field(default_factory=dict)
    channels: dict[str, ChannelSpec] = Field(default_factory=dict)
    workflows: dict[str, WorkflowSpec] = Field(default_factory=dict)


def parse_document(raw: dict[str, Any]) -> ProjectSpec:
    """Validate a spec/state document; InvalidInput lists problems by document path."""
    try:
        return ProjectSpec.model_validate(normalize(raw))
    except ValidationError as exc:
        problems = [
            {"loc": ".".join(str(p) for p in err["loc"]) or "(document)", "message": err["msg"]}
            for err in exc.errors()
        ]
        first = problems[0]
        raise InvalidInput(
            f"Invalid project document: {first['loc']}: {first['message']}", details=problems
        ) from exc


def hyphenate(name: str) -> str:
    """OpenFn's key for a name: spaces become hyphens."""
    return "-".join(name.split())


def normalize(raw: dict[str, Any]) -> dict[str, Any]:
    """Accept OpenFn's list-shaped provision payload and state's `project_credentials`."""
    doc = dict(raw)
    credentials = dict(_keyed(doc.get("credentials") or {}, _credential_key))
    for key, value in _keyed(doc.pop("project_credentials", None) or {}, _credential_key):
        credentials.setdefault(key, value)
    if credentials or "credentials" in doc:
        doc["credentials"] = credentials
    for kind in ("collections", "channels"):
        if kind in doc and doc[kind] is None:
            del doc[kind]
        if isinstance(doc.get(kind), list):
            doc[kind] = dict(_keyed(doc[kind], lambda c: hyphenate(str(c.get("name") or ""))))
    if isinstance(doc.get("workflows"), list):
        doc["workflows"] = dict(_keyed(doc["workflows"], lambda w: hyphenate(w.get("name", ""))))
    if isinstance(doc.get("workflows"), dict):
        doc["workflows"] = {k: _normalize_workflow(v) for k, v in doc["workflows"].items()}
    return doc


def _normalize_workflow(raw: Any) -> Any:
    if not isinstance(raw, dict):
        return raw
    wf = dict(raw)
    if isinstance(wf.get("jobs"), list):
        wf["jobs"] = dict(_keyed(wf["jobs"], lambda j: hyphenate(j.get("name", ""))))
    if isinstance(wf.get("triggers"), list):
        wf["triggers"] = dict(_keyed(wf["triggers"], lambda t: str(t.get("type", "trigger"))))
    if isinstance(wf.get("edges"), list):
        wf["edges"] = dict(_keyed(wf["edges"], lambda e: str(e.get("id") or "edge")))
    return wf


def _credential_key(item: dict[str, Any]) -> str:
    return f"{item.get('owner', '')}-{item.get('name', '')}"


def _keyed(items: Any, key_of: Any) -> list[tuple[str, Any]]:
    """`[item, ...]` -> `[(unique key, item), ...]`; a mapping is passed through."""
    if isinstance(items, dict):
        return list(items.items())
    if not isinstance(items, list):
        return [("(not a list or mapping)", items)]
    pairs: list[tuple[str, Any]] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        base = (key_of(item) if isinstance(item, dict) else "") or f"item-{i + 1}"
        key, n = base, 1
        while key in seen:
            n += 1
            key = f"{base}-{n}"
        seen.add(key)
        pairs.append((key, item))
    return pairs
