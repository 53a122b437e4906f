"""Pure transformations between a project *state* (keys -> ids) and a *spec* (keys only).

Shared by the server (export), the CLI (deploy, pull) and git sync, so the
spec a pull writes is byte-for-byte the one the server exports.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from lightning_flows.provisioning.spec import hyphenate, retry_extension

Doc = dict[str, Any]
_COLLECTIONS = ("jobs", "triggers", "edges")
_PROJECT_ITEMS = ("collections", "channels")


class KeyAllocator:
    """Unique keys within one collection, preferring a hint (the key a client used)."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def take(self, preferred: str | None, fallback: str) -> str:
        for candidate in (preferred, fallback):
            if candidate and candidate not in self.used:
                self.used.add(candidate)
                return candidate
        base, n = fallback or "item", 2
        while f"{base}-{n}" in self.used:
            n += 1
        self.used.add(f"{base}-{n}")
        return f"{base}-{n}"


def credential_key(owner: str, name: str) -> str:
    """OpenFn's key of a credential in a spec: `owner-email-name`."""
    return f"{owner}-{hyphenate(name)}"


def spec_from_state(state: Doc) -> Doc:
    """The spec (no ids) of a state document, in a stable order."""
    cred_keys = {c["id"]: key for key, c in state.get("project_credentials", {}).items()}
    spec: Doc = {"name": state["name"]}
    if state.get("description"):
        spec["description"] = state["description"]
    if state.get("project_credentials"):
        spec["credentials"] = {
            key: {"name": c["name"], "owner": c["owner"]}
            for key, c in sorted(state["project_credentials"].items())
        }
    for key, c in sorted((state.get("collections") or {}).items()):
        spec.setdefault("collections", {})[key] = {"name": c["name"]}
    for key, c in sorted((state.get("channels") or {}).items()):
        spec.setdefault("channels", {})[key] = {
            "name": c["name"],
            "destination_url": c.get("destination_url"),
            "enabled": c.get("enabled", False),
            "destination_credential": cred_keys.get(c.get("destination_credential_id") or ""),
        }
    spec["workflows"] = {
        key: _workflow_spec(wf, cred_keys) for key, wf in sorted(state.get("workflows", {}).items())
    }
    return spec


def _workflow_spec(wf: Doc, cred_keys: dict[str, str]) -> Doc:
    job_keys = {j["id"]: key for key, j in wf.get("jobs", {}).items()}
    trigger_keys = {t["id"]: key for key, t in wf.get("triggers", {}).items()}
    jobs = {
        key: {
            "name": j["name"],
            "adaptor": j["adaptor"],
            "credential": cred_keys.get(j.get("project_credential_id") or ""),
            "body": j.get("body", ""),
            **retry_extension(j),
        }
        for key, j in sorted(wf.get("jobs", {}).items())
    }
    triggers = {
        key: _trigger_spec(t, job_keys) for key, t in sorted(wf.get("triggers", {}).items())
    }
    edges = {}
    for key, e in sorted(wf.get("edges", {}).items()):
        edge: Doc = {}
        if e.get("source_trigger_id"):
            edge["source_trigger"] = trigger_keys.get(e["source_trigger_id"])
        else:
            edge["source_job"] = job_keys.get(e.get("source_job_id") or "")
        edge["target_job"] = job_keys.get(e["target_job_id"])
        edge["condition_type"] = e.get("condition_type", "always")
        for optional in ("condition_expression", "condition_label"):
            if e.get(optional):
                edge[optional] = e[optional]
        edge["enabled"] = e.get("enabled", True)
        edges[key] = edge
    spec: Doc = {"name": wf["name"], "jobs": jobs, "triggers": triggers, "edges": edges}
    if wf.get("on_worker_loss", "resume") != "resume":  # our extension; OpenFn ignores it
        spec["on_worker_loss"] = wf["on_worker_loss"]
    if wf.get("test_cases"):  # our extension too (provisioning/test_cases.py)
        spec["test_cases"] = copy.deepcopy(wf["test_cases"])
    return spec


def _trigger_spec(t: Doc, job_keys: dict[str, str]) -> Doc:
    trigger: Doc = {"type": t["type"], "enabled": t.get("enabled", True)}
    if t["type"] == "cron":
        trigger["cron_expression"] = t.get("cron_expression")
        if t.get("cron_timezone") not in (None, "UTC"):
            trigger["cron_timezone"] = t["cron_timezone"]
        if t.get("cron_cursor_job_id") in job_keys:
            trigger["cron_cursor_job"] = job_keys[t["cron_cursor_job_id"]]
    for optional in ("webhook_reply", "webhook_response_config", "custom_path"):
        if t.get(optional):
            trigger[optional] = t[optional]
    if t.get("kafka_configuration"):
        kafka = {k: v for k, v in t["kafka_configuration"].items() if v is not None}
        kafka["hosts"] = [":".join(pair) for pair in kafka.get("hosts", [])]
        trigger["kafka_configuration"] = kafka
    return trigger


def merge_spec_and_state(spec: Doc, state: Doc | None) -> Doc:
    """The provision payload for `spec`: ids from `state` where keys match, and a
    `{id, delete: true}` entry for every key the state has and the spec dropped."""
    payload = copy.deepcopy(spec)
    if not state:
        return payload
    if state.get("id"):
        payload["id"] = state["id"]
    for kind in _PROJECT_ITEMS:
        for key, old_item in (state.get(kind) or {}).items():
            entries = payload.setdefault(kind, {})
            if key in entries:
                entries[key]["id"] = old_item["id"]
            else:
                entries[key] = {"id": old_item["id"], "delete": True}
    workflows = payload.setdefault("workflows", {})
    for key, old in state.get("workflows", {}).items():
        if key not in workflows:
            workflows[key] = {"id": old["id"], "delete": True}
            continue
        new = workflows[key]
        new["id"] = old["id"]
        if old.get("test_cases"):  # a file that dropped them all removes them
            new.setdefault("test_cases", {})
        for collection in _COLLECTIONS:
            items = new.setdefault(collection, {})
            for item_key, old_item in old.get(collection, {}).items():
                if item_key in items:
                    items[item_key]["id"] = old_item["id"]
                else:
                    items[item_key] = {"id": old_item["id"], "delete": True}
    return payload


def rekey(state: Doc, preferred: Doc | None) -> Doc:
    """`state` with each item under the key `preferred` (an older state) used for its id."""
    if not preferred:
        return state
    hints = dict(_key_hints(preferred))
    result = copy.deepcopy(state)
    result["workflows"] = _rekey_map(result.get("workflows", {}), hints)
    for kind in _PROJECT_ITEMS:
        if kind in result:
            result[kind] = _rekey_map(result[kind], hints)
    for wf in result["workflows"].values():
        for collection in _COLLECTIONS:
            wf[collection] = _rekey_map(wf.get(collection, {}), hints)
    return result


def _key_hints(state: Doc) -> Iterable[tuple[str, str]]:
    for kind in _PROJECT_ITEMS:
        for key, item in (state.get(kind) or {}).items():
            yield str(item.get("id")), key
    for key, wf in state.get("workflows", {}).items():
        yield str(wf.get("id")), key
        for collection in _COLLECTIONS:
            for item_key, item in wf.get(collection, {}).items():
                yield str(item.get("id")), item_key


def _rekey_map(items: Doc, hints: dict[str, str]) -> Doc:
    keys = KeyAllocator()
    order = sorted(items.items(), key=lambda kv: str(kv[1].get("id")) not in hints)
    return {keys.take(hints.get(str(item.get("id"))), key): item for key, item in order}
