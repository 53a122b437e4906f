"""`/api/provision`: OpenFn's example project round trip, updates by state, one transaction."""

from __future__ import annotations

import copy
import uuid

import yaml
from fastapi.testclient import TestClient
from sqlmodel import col, select

from lightning_flows.audit.models import AuditEvent
from lightning_flows.projects.models import Project, ProjectUser
from lightning_flows.workflows.models import Job, WorkflowSnapshot, WorkflowVersion
from tests import factories
from tests.support.projects import (
    EXAMPLE,
    YAML,
    only_workflow,
    provision_json,
    provision_yaml,
    state_of,
)

WF = "OpenHIE-Workflow"
SEND = "Send-to-OpenHIM-to-route-to-SHR"


def test_example_round_trips_to_byte_stable_yaml(client: TestClient, auth: dict, session, user):
    created = provision_yaml(client, auth)
    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"/api/provision/{created.json()['data']['id']}"
    state = state_of(created)
    workflow = only_workflow(state)
    assert len(workflow["jobs"]) == 4 and len(workflow["edges"]) == 4
    assert set(workflow["triggers"]) == {"webhook"}
    conditions = sorted(e["condition_type"] for e in workflow["edges"].values())
    assert conditions == ["always", "on_job_failure", "on_job_success", "on_job_success"]
    project_id = state["id"]
    member = session.exec(select(ProjectUser).where(ProjectUser.user_id == user.id)).one()
    assert member.role == "owner" and str(member.project_id) == project_id

    first = client.get("/api/provision/yaml", params={"id": project_id}, headers=auth)
    assert first.status_code == 200 and first.headers["content-type"].startswith("application/yaml")
    spec = yaml.safe_load(first.text)
    assert "id" not in spec and spec["workflows"][WF]["jobs"][SEND]["adaptor"].endswith("@latest")
    (snapshot,) = session.exec(select(WorkflowSnapshot)).all()
    pinned = {j["name"]: j["adaptor"] for j in snapshot.document["jobs"]}
    assert pinned["Send to OpenHIM to route to SHR"] == "@openfn/language-http@7.2.10"
    again = provision_yaml(client, auth, first.text, id=project_id)
    assert again.status_code == 201, again.text
    assert again.json() == client.get(f"/api/provision/{project_id}", headers=auth).json()
    second = client.get("/api/provision/yaml", params={"id": project_id}, headers=auth)
    assert second.content == first.content
    versions = session.exec(select(WorkflowVersion)).all()
    assert [(v.source, v.author_id) for v in versions] == [("cli", user.id)], "no-op: no version"
    audits = session.exec(
        select(AuditEvent)
        .where(AuditEvent.event == "provisioned")
        .order_by(col(AuditEvent.inserted_at))
    ).all()
    assert [(a.actor_id, a.details["workflows"]) for a in audits] == [
        (user.id, {"created": ["OpenHIE Workflow"]}),
        (user.id, {}),
    ]


def test_state_document_renames_a_job_and_deletes_an_edge(client: TestClient, auth: dict, session):
    state = state_of(provision_yaml(client, auth))
    doc = copy.deepcopy(state)
    workflow = doc["workflows"][WF]
    job = workflow["jobs"][SEND]
    job["name"] = "Send to the SHR"
    failure_edge = f"{SEND}->Notify-CHW-upload-failed"
    workflow["edges"][failure_edge] = {"id": workflow["edges"][failure_edge]["id"], "delete": True}
    del workflow["jobs"]["Notify-CHW-upload-successful"]  # not marked: kept as it is

    response = provision_json(client, auth, doc)
    assert response.status_code == 201, response.text
    updated = state_of(response, like=doc)["workflows"][WF]
    assert updated["jobs"][SEND] == job  # the key a client used stays with the id
    assert failure_edge not in updated["edges"] and len(updated["edges"]) == 3
    assert "Notify-CHW-upload-successful" in updated["jobs"]
    assert session.get(Job, uuid.UUID(job["id"])).name == "Send to the SHR"
    versions = session.exec(select(WorkflowVersion).order_by(col(WorkflowVersion.inserted_at)))
    assert [v.source for v in versions] == ["cli", "cli"]


def test_delete_marker_removes_a_workflow_and_a_job(client: TestClient, auth: dict, session):
    state = state_of(provision_yaml(client, auth))
    workflow = state["workflows"][WF]
    doc = {
        "id": state["id"],
        "name": state["name"],
        "workflows": {
            WF: {
                "id": workflow["id"],
                "name": workflow["name"],
                "jobs": {"Notify-CHW-upload-failed": {"id": "x", "delete": True}},
            }
        },
    }
    bad = provision_json(client, auth, doc)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"] == f"workflows.{WF}.jobs.Notify-CHW-upload-failed.id"
    failed_job = workflow["jobs"]["Notify-CHW-upload-failed"]["id"]
    doc["workflows"][WF]["jobs"]["Notify-CHW-upload-failed"]["id"] = failed_job
    after = state_of(provision_json(client, auth, doc))["workflows"][WF]
    assert len(after["jobs"]) == 3 and len(after["edges"]) == 3, "its edge went with it"
    gone_workflow = {"id": workflow["id"], "delete": True}
    gone = {"id": state["id"], "name": state["name"], "workflows": {WF: gone_workflow}}
    assert state_of(provision_json(client, auth, gone))["workflows"] == {}
    assert session.exec(select(AuditEvent).where(AuditEvent.event == "deleted")).first()


def test_openfn_list_payload_is_accepted(client: TestClient, auth: dict):
    job_a, job_b, trigger = (str(uuid.uuid4()) for _ in range(3))
    payload = {
        "name": "list-shaped",
        "workflows": [
            {
                "name": "Intake",
                "jobs": [
                    {"id": job_a, "name": "Receive", "adaptor": "common", "body": "fn(s => s);"},
                    {"id": job_b, "name": "Store", "adaptor": "common", "body": "fn(s => s);"},
                ],
                "triggers": [{"id": trigger, "type": "cron", "cron_expression": "0 6 * * *"}],
                "edges": [
                    {"source_trigger_id": trigger, "target_job_id": job_a, "condition": "always"},
                    {"source_job_id": job_a, "target_job_id": job_b, "condition": "on_job_success"},
                ],
            }
        ],
    }
    response = provision_json(client, auth, payload)
    assert response.status_code == 201, response.text
    workflow = state_of(response)["workflows"]["Intake"]
    assert workflow["jobs"]["Receive"]["id"] == job_a
    assert workflow["triggers"]["cron"]["cron_expression"] == "0 6 * * *"
    assert {e["condition_type"] for e in workflow["edges"].values()} == {"always", "on_job_success"}


def test_credentials_are_found_by_owner_and_name(client: TestClient, auth: dict, session, user):
    other = factories.make_user(session)
    project = factories.make_project(session, owner=other)
    factories.make_credential(session, project, {"token": "t"}, owner=other, name="Other's")
    mine = factories.make_credential(session, project, {"pw": "p"}, owner=user, name="DHIS2 prod")
    key = f"{user.email}-DHIS2-prod"
    spec = yaml.safe_load(EXAMPLE)
    spec["credentials"] = {key: {"name": "DHIS2 prod", "owner": user.email}}
    spec["workflows"][WF]["jobs"][SEND]["credential"] = key
    created = provision_json(client, auth, spec)
    assert created.status_code == 201, created.text
    linked = state_of(created)["workflows"][WF]["jobs"][SEND]["project_credential_id"]
    assert linked and linked != str(mine), "shared with the new project by its owner"
    assert state_of(created)["project_credentials"][key]["name"] == "DHIS2 prod"
    project_id = state_of(created)["id"]
    exported = client.get("/api/provision/yaml", params={"id": project_id}, headers=auth)
    assert f"credential: {key}" in exported.text

    spec["credentials"]["theirs"] = {"name": "Other's", "owner": other.email}
    spec["credentials"]["missing"] = {"name": "nope", "owner": user.email}
    refused = provision_json(client, auth, {**spec, "name": "another"})
    assert refused.status_code == 422
    assert {e["loc"] for e in refused.json()["errors"]} == {
        "credentials.theirs",
        "credentials.missing",
    }
    assert "only its owner can share it" in refused.text


def test_preview_shows_the_change_and_writes_nothing(client: TestClient, auth: dict, session):
    state = state_of(provision_yaml(client, auth))
    changed = EXAMPLE.replace("console.log('hello github integration');", "console.log('hi');")
    response = client.post(
        "/api/provision/preview",
        content=changed,
        headers={**auth, **YAML},
        params={"id": state["id"]},
    )
    assert response.status_code == 200, response.text
    (workflow,) = response.json()["workflows"]
    (item,) = workflow["items"]
    assert item["kind"] == "job" and item["change"] == "changed"
    assert "+  console.log('hi');" in item["body_diff"]
    assert len(session.exec(select(WorkflowVersion)).all()) == 1
    fresh = client.post("/api/provision/preview", content=EXAMPLE, headers={**auth, **YAML})
    assert fresh.json()["change"] == "added"
    assert len(session.exec(select(Project)).all()) == 1


def test_a_partial_spec_adds_to_what_is_stored(client: TestClient, auth: dict) -> None:
    state = state_of(provision_yaml(client, auth))
    partial = {
        "name": "openhie-project",
        "workflows": {
            WF: {
                "name": "OpenHIE Workflow",
                "jobs": {"Archive": {"adaptor": "common", "body": "fn(s => s);"}},
                "edges": {
                    "Notify-CHW-upload-successful->Archive": {
                        "source_job": "Notify-CHW-upload-successful",
                        "target_job": "Archive",
                    }
                },
            }
        },
    }
    response = client.post("/api/provision", json=partial, params={"id": state["id"]}, headers=auth)
    assert response.status_code == 201, response.text
    workflow = state_of(response)["workflows"][WF]
    assert len(workflow["jobs"]) == 5 and len(workflow["edges"]) == 5
    assert workflow["jobs"][SEND] == state["workflows"][WF]["jobs"][SEND]


def test_fields_an_item_leaves_out_keep_their_values(client: TestClient, auth: dict) -> None:
    state = state_of(provision_yaml(client, auth))
    workflow = state["workflows"][WF]
    job = workflow["jobs"][SEND]
    edge_key = f"{SEND}->Notify-CHW-upload-failed"
    patch = {
        "id": state["id"],
        "name": state["name"],
        "workflows": {
            WF: {
                "id": workflow["id"],
                "jobs": {SEND: {"id": job["id"], "name": "Send"}},
                "edges": {edge_key: {"id": workflow["edges"][edge_key]["id"], "enabled": False}},
            }
        },
    }
    response = provision_json(client, auth, patch)
    assert response.status_code == 201, response.text
    updated = state_of(response, like=patch)["workflows"][WF]
    assert updated["jobs"][SEND] == {**job, "name": "Send"}
    assert updated["edges"][edge_key] == {**workflow["edges"][edge_key], "enabled": False}
