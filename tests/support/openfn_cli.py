"""A client that does what OpenFn's CLI (`openfn deploy` / `openfn pull`, package
@openfn/deploy) does against a provisioning server, written here from its
observable behaviour: the same requests, the same state merging, the same checks.

`deploy` merges the spec into the local state (making up ids for new items,
credentials included), GETs `/api/provision/{id}` (404 means new), compares
what it would send with what the server serves (any difference is a change),
POSTs the list-shaped project and merges the answer's `data` into the state.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

Doc = dict[str, Any]


@dataclass
class Deployed:
    state: Doc
    changed: bool  # False: "No changes to deploy."


def deploy(client: TestClient, auth: dict[str, str], spec: Doc, state: Doc | None) -> Deployed:
    state = copy.deepcopy(state) if state else {"workflows": {}}
    next_state = merge_spec_into_state(state, spec)
    next_project = to_project_payload(next_state)
    found = client.get(f"/api/provision/{next_state['id']}", headers=auth)
    assert found.status_code in (200, 404), found.text
    current = found.json()["data"] if found.status_code == 200 else None
    if current == next_project:
        return Deployed(state, changed=False)
    posted = client.post("/api/provision", json=next_project, headers=auth)
    assert posted.is_success, posted.text
    return Deployed(merge_project_payload_into_state(next_state, posted.json()["data"]), True)


def pull(client: TestClient, auth: dict[str, str], project_id: str) -> tuple[Doc, str]:
    """The state built from the served project, and the spec YAML the server exports."""
    found = client.get(f"/api/provision/{project_id}", headers=auth)
    assert found.status_code == 200, "Project not found."
    spec = client.get("/api/provision/yaml", params={"id": project_id}, headers=auth)
    assert spec.status_code == 200, "Project spec not retrieved."
    return state_from_project_payload(found.json()["data"]), spec.text


def _new_id() -> str:
    return str(uuid.uuid4())


def _zip(old: Doc | None, new: Doc | None) -> list[tuple[str, Any, Any]]:
    old, new = old or {}, new or {}
    keys = list(old) + [k for k in new if k not in old]
    return [(k, old.get(k), new.get(k)) for k in keys]


def merge_spec_into_state(old: Doc, spec: Doc) -> Doc:
    creds = {}
    for key, was, now in _zip(old.get("project_credentials"), spec.get("credentials")):
        assert now, f"credential {key} is in the state but not the spec"
        creds[key] = {"id": was["id"] if was else _new_id(), **_pick(now, "name", "owner")}

    def cred_id(key: str | None) -> str | None:
        return creds[key]["id"] if key else None

    extras: Doc = {}
    for kind in ("collections", "channels"):
        extras[kind] = {}
        for key, was, now in _zip(old.get(kind), spec.get(kind)):
            if not now:
                extras[kind][key] = {"id": was["id"], "delete": True}
                continue
            item = {"id": was["id"] if was else _new_id(), "name": now["name"]}
            if kind == "channels":
                item.update(_pick(now, "destination_url", "enabled"))
                item["destination_credential_id"] = cred_id(now.get("destination_credential"))
            extras[kind][key] = item
    workflows = {}
    for key, was, now in _zip(old.get("workflows"), spec.get("workflows")):
        assert now, "Critical error! Cannot continue"
        jobs = _merge_jobs((was or {}).get("jobs"), now.get("jobs"), cred_id)
        triggers = _merge_triggers((was or {}).get("triggers"), now.get("triggers"), jobs)
        edges = _merge_edges((was or {}).get("edges"), now.get("edges"), jobs, triggers)
        base = was if was else {"id": _new_id()}
        workflows[key] = {**base, "name": now["name"], "jobs": jobs, "triggers": triggers}
        workflows[key]["edges"] = edges
    result = {**old, "id": old.get("id") or _new_id(), "name": spec["name"]}
    result.update(workflows=workflows, project_credentials=creds, **extras)
    if spec.get("description"):
        result["description"] = spec["description"]
    return result


def _merge_jobs(old: Doc | None, new: Doc | None, cred_id: Any) -> Doc:
    jobs = {}
    for key, was, now in _zip(old, new):
        if not now:
            jobs[key] = {"id": was["id"], "delete": True}
            continue
        body = now["body"]["content"] if isinstance(now.get("body"), dict) else now.get("body")
        job = {"id": was["id"] if was else _new_id(), "name": now["name"]}
        job.update(adaptor=now["adaptor"], body=body)
        if "credential" in now:  # `undefined` is dropped by JSON.stringify
            job["project_credential_id"] = cred_id(now["credential"])
        jobs[key] = job
    return jobs


def _merge_triggers(old: Doc | None, new: Doc | None, jobs: Doc) -> Doc:
    triggers = {}
    for key, was, now in _zip(old, new):
        if not now:
            triggers[key] = {"id": was["id"], "delete": True}
            continue
        if was:
            trigger = {"id": was["id"], "type": now.get("type", was.get("type", "webhook"))}
            trigger["enabled"] = now.get("enabled", was.get("enabled", True))
        else:
            trigger = {"id": _new_id(), **_pick(now, "type", "enabled")}
        if now["type"] == "webhook":
            trigger.update(_pick(now, "webhook_reply", "webhook_response_config", truthy=True))
        if now["type"] == "cron":
            trigger["cron_expression"] = now.get("cron_expression")
            if now.get("cron_cursor_job"):
                trigger["cron_cursor_job_id"] = jobs[now["cron_cursor_job"]]["id"]
        if now["type"] == "kafka":
            kafka = dict(now.get("kafka_configuration") or {})
            kafka["hosts"] = [host.split(":") for host in kafka.get("hosts", [])]
            trigger["kafka_configuration"] = kafka
        triggers[key] = trigger
    return triggers


def _merge_edges(old: Doc | None, new: Doc | None, jobs: Doc, triggers: Doc) -> Doc:
    edges = {}
    for key, was, now in _zip(old, new):
        if not now:
            edges[key] = {"id": was["id"], "delete": True}
            continue
        edge = {
            "id": was["id"] if was else _new_id(),
            "condition_type": now.get("condition_type"),
            "target_job_id": jobs.get(now.get("target_job"), {}).get("id", ""),
            "enabled": now.get("enabled", (was or {}).get("enabled", True)),
        }
        # assignIfTruthy keeps null and any string, and drops what is undefined
        edge.update(_pick(now, "condition_type", "condition_expression", "condition_label"))
        sources = {
            "source_job_id": jobs.get(now.get("source_job"), {}).get("id"),
            "source_trigger_id": triggers.get(now.get("source_trigger"), {}).get("id"),
        }
        edge.update({k: v for k, v in sources.items() if v})
        edges[key] = edge
    return edges


def to_project_payload(state: Doc) -> Doc:
    payload = {k: v for k, v in state.items() if k not in ("collections", "channels")}
    payload["project_credentials"] = list(state.get("project_credentials", {}).values())
    payload["workflows"] = [
        {**wf, **{kind: list(wf[kind].values()) for kind in ("jobs", "triggers", "edges")}}
        for wf in state["workflows"].values()
    ]
    for kind in ("collections", "channels"):
        if state.get(kind):
            payload[kind] = list(state[kind].values())
    return payload


def merge_project_payload_into_state(state: Doc, project: Doc) -> Doc:
    def by_id(items: list[Doc], keyed: Doc) -> Doc:
        return {k: item for item in items for k, old in keyed.items() if old["id"] == item["id"]}

    workflows = {}
    for key, wf in by_id(project["workflows"], state["workflows"]).items():
        old = state["workflows"][key]
        workflows[key] = {**wf, **{k: by_id(wf[k], old[k]) for k in ("jobs", "triggers", "edges")}}
    result = {**project, "workflows": workflows}
    result["project_credentials"] = by_id(
        project.get("project_credentials") or [], state.get("project_credentials") or {}
    )
    for kind in ("collections", "channels"):
        result[kind] = by_id(project.get(kind) or [], state.get(kind) or {})
    return result


def state_from_project_payload(project: Doc) -> Doc:
    def hyphenate(text: str) -> str:
        return "-".join(text.split())

    workflows = {}
    for wf in project["workflows"]:
        names = {j["id"]: j["name"] for j in wf["jobs"]}
        types = {t["id"]: t["type"] for t in wf["triggers"]}
        edges = {}
        for edge in wf["edges"]:
            source = types.get(edge.get("source_trigger_id")) or names[edge["source_job_id"]]
            edges[hyphenate(f"{source}->{hyphenate(names[edge['target_job_id']])}")] = edge
        workflows[hyphenate(wf["name"])] = {
            **wf,
            "jobs": {hyphenate(j["name"]): j for j in wf["jobs"]},
            "triggers": {hyphenate(t["type"]): t for t in wf["triggers"]},
            "edges": edges,
        }
    credentials = {
        hyphenate(f"{c['owner']} {c['name']}"): c for c in project.get("project_credentials") or []
    }
    state = {**project, "project_credentials": credentials, "workflows": workflows}
    for kind in ("collections", "channels"):
        state[kind] = {hyphenate(c["name"]): c for c in project.get(kind) or []}
    return state


def _pick(item: Doc, *keys: str, truthy: bool = False) -> Doc:
    return {k: item[k] for k in keys if k in item and (item[k] or not truthy)}
