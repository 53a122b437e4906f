"""Lightning's provisioning JSON (`ProvisioningJSON`): what `/api/provision` serves.

OpenFn's CLI and `@openfn/project` read `{"data": project}` where workflows,
jobs, triggers, edges, project credentials, collections and channels are
**lists**, each item with exactly Lightning's fields (nulls dropped where
Lightning drops them). The CLI diffs what it would send against what the
server serves, so every field here is one the CLI itself builds: our own
trigger extras (`custom_path`, a non-UTC `cron_timezone`) appear only when set.

Lists are ordered by id: the same project is served in the same order whatever
keys the request used (the CLI compares lists in order).

`to_payload` turns our keyed state into that shape; `from_payload` turns it
back into a keyed state, keeping the keys of a document the caller already has.
"""

from __future__ import annotations

from typing import Any

from lightning_flows.provisioning.spec import hyphenate
from lightning_flows.provisioning.state import KeyAllocator, credential_key

Doc = dict[str, Any]
_JOB = ("id", "name", "adaptor", "body", "project_credential_id")
_TRIGGER = (
    "id",
    "type",
    "enabled",
    "cron_expression",
    "cron_cursor_job_id",
    "webhook_reply",
    "webhook_response_config",
    "kafka_configuration",
    "custom_path",
)
_EDGE = (
    "id",
    "enabled",
    "source_job_id",
    "source_trigger_id",
    "condition_type",
    "condition_label",
    "condition_expression",
    "target_job_id",
)


def to_payload(state: Doc) -> Doc:
    """A keyed state document as Lightning's list-shaped project JSON."""
    payload: Doc = {
        "id": state["id"],
        "name": state["name"],
        "description": state.get("description"),
        "project_credentials": [
            {k: c.get(k) for k in ("id", "name", "owner")}
            for c in _by_id(state.get("project_credentials"))
        ],
    }
    for kind in ("collections", "channels"):
        items = _by_id(state.get(kind))
        if items:  # the CLI sends these only when there are some
            payload[kind] = items
    payload["workflows"] = [_workflow(wf) for wf in _by_id(state.get("workflows"))]
    return payload


def _by_id(items: Doc | None) -> list[Doc]:
    return sorted((items or {}).values(), key=lambda item: str(item.get("id")))


def _workflow(wf: Doc) -> Doc:
    return {
        "id": wf["id"],
        "name": wf["name"],
        "lock_version": wf.get("lock_version"),
        "jobs": [{k: j.get(k) for k in _JOB} for j in _by_id(wf.get("jobs"))],
        "triggers": [_trigger(t) for t in _by_id(wf.get("triggers"))],
        "edges": [_no_nulls({k: e.get(k) for k in _EDGE}) for e in _by_id(wf.get("edges"))],
        # our extensions, which Lightning ignores
        **({"on_worker_loss": wf["on_worker_loss"]} if wf.get("on_worker_loss") else {}),
        **({"test_cases": wf["test_cases"]} if wf.get("test_cases") else {}),
    }


def _trigger(t: Doc) -> Doc:
    item = _no_nulls({k: t.get(k) for k in _TRIGGER})
    if t.get("cron_timezone") not in (None, "UTC"):
        item["cron_timezone"] = t["cron_timezone"]
    if item.get("kafka_configuration"):
        item["kafka_configuration"] = _no_nulls(item["kafka_configuration"])
    return item


def _no_nulls(item: Doc) -> Doc:
    return {k: v for k, v in item.items() if v is not None}


def from_payload(payload: Doc, like: Doc | None = None) -> Doc:
    """A keyed state from Lightning's project JSON. Items keep the key `like` (a state
    or spec document) gives their id, else their name (jobs, workflows), type
    (triggers) or ends (edges); anything else gets OpenFn's usual key."""
    hints = _Hints(like or {})
    cred_keys, cred_of = KeyAllocator(), {}
    credentials = {}
    for c in payload.get("project_credentials") or []:
        fallback = credential_key(c.get("owner", ""), c.get("name", ""))
        key = cred_keys.take(hints.key("project_credentials", c, fallback), fallback)
        credentials[key], cred_of[c["id"]] = dict(c), key
    state: Doc = {
        "id": payload.get("id"),
        "name": payload.get("name"),
        "description": payload.get("description"),
        "project_credentials": credentials,
    }
    for kind in ("collections", "channels"):
        keys = KeyAllocator()
        state[kind] = {
            keys.take(hints.key(kind, item, hyphenate(item["name"])), hyphenate(item["name"])): item
            for item in payload.get(kind) or []
        }
    wf_keys = KeyAllocator()
    state["workflows"] = {}
    for wf in payload.get("workflows") or []:
        key = wf_keys.take(hints.key("workflows", wf, hyphenate(wf["name"])), hyphenate(wf["name"]))
        state["workflows"][key] = _keyed_workflow(wf, hints.inside(key))
    return state


def _keyed_workflow(wf: Doc, hints: _Hints) -> Doc:
    out: Doc = {k: v for k, v in wf.items() if k not in ("jobs", "triggers", "edges")}
    job_keys, trig_keys, edge_keys = KeyAllocator(), KeyAllocator(), KeyAllocator()
    key_of: dict[str, str] = {}
    out["jobs"], out["triggers"], out["edges"] = {}, {}, {}
    for job in wf.get("jobs") or []:
        key = job_keys.take(hints.key("jobs", job, hyphenate(job["name"])), hyphenate(job["name"]))
        out["jobs"][key], key_of[job["id"]] = job, key
    for trig in wf.get("triggers") or []:
        key = trig_keys.take(hints.key("triggers", trig, trig["type"]), trig["type"])
        out["triggers"][key], key_of[trig["id"]] = trig, key
    for edge in wf.get("edges") or []:
        source = key_of.get(edge.get("source_job_id") or edge.get("source_trigger_id") or "")
        natural = f"{source}->{key_of.get(edge.get('target_job_id', ''))}"
        out["edges"][edge_keys.take(hints.key("edges", edge, natural), natural)] = edge
    return out


class _Hints:
    """Keys a known document used, by item id and by natural name, per collection."""

    def __init__(self, doc: Doc) -> None:
        self.doc = doc

    def inside(self, workflow_key: str) -> _Hints:
        return _Hints((self.doc.get("workflows") or {}).get(workflow_key) or {})

    def key(self, kind: str, item: Doc, natural: str) -> str | None:
        entries = self.doc.get("credentials" if kind == "project_credentials" else kind)
        entries = entries or self.doc.get(kind) or {}
        for key, entry in entries.items():
            if isinstance(entry, dict) and entry.get("id") and entry["id"] == item.get("id"):
                return str(key)
        for key, entry in entries.items():
            if (
                isinstance(entry, dict)
                and not entry.get("id")
                and _natural(kind, key, entry) == natural
            ):
                return str(key)
        return None


def _natural(kind: str, key: str, entry: Doc) -> str:
    """The key OpenFn would give an entry of a spec, from its fields."""
    if kind == "triggers":
        return str(entry.get("type") or key)
    if kind == "edges":
        source = entry.get("source_job") or entry.get("source_trigger")
        return f"{source}->{entry.get('target_job')}"
    if kind == "project_credentials":
        return credential_key(entry.get("owner", ""), entry.get("name", ""))
    return hyphenate(str(entry.get("name") or key))
