"""`/api/provision` refusals: 422 naming the document path, nothing written; permissions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlmodel import select

from lightning_flows.projects.models import Project, Role
from lightning_flows.workflows.models import Workflow
from tests import factories
from tests.support.projects import EXAMPLE, provision_json, provision_yaml, state_of

WF = "OpenHIE-Workflow"
FHIR, SEND = "FHIR-standard-Data-with-change", "Send-to-OpenHIM-to-route-to-SHR"
FAILED = "Notify-CHW-upload-failed"
EDGES = f"workflows.{WF}.edges"


def _unknown_target(spec: dict[str, Any]) -> None:
    spec["workflows"][WF]["edges"][f"{SEND}->{FAILED}"]["target_job"] = "Notify-CHW-by-SMS"


def _duplicate_name(spec: dict[str, Any]) -> None:
    spec["workflows"][WF]["jobs"][FAILED]["name"] = "Notify CHW upload successful"


def _cycle(spec: dict[str, Any]) -> None:
    spec["workflows"]["Loop"] = {
        "name": "Loop",
        "jobs": {"a": {"body": "fn(s => s);"}, "b": {"body": "fn(s => s);"}},
        "edges": {
            "a->b": {"source_job": "a", "target_job": "b"},
            "b->a": {"source_job": "b", "target_job": "a"},
        },
    }


def _bad_cron(spec: dict[str, Any]) -> None:
    spec["workflows"][WF]["triggers"]["nightly"] = {"type": "cron", "cron_expression": "nightly"}


def _unknown_adaptor(spec: dict[str, Any]) -> None:
    spec["workflows"][WF]["jobs"][SEND]["adaptor"] = "Not An Adaptor!"


def _bad_type(spec: dict[str, Any]) -> None:
    spec["workflows"][WF]["triggers"]["webhook"]["type"] = "email"


def _duplicate_workflow(spec: dict[str, Any]) -> None:
    spec["workflows"]["Copy"] = {"name": "OpenHIE Workflow"}


def _typo(spec: dict[str, Any]) -> None:
    spec["workflows"][WF]["jobs"][SEND]["adapter"] = "http"


CASES: list[tuple[Callable[[dict[str, Any]], None], str, str]] = [
    (_unknown_target, f"{EDGES}.{SEND}->{FAILED}.target_job", "unknown job 'Notify-CHW-by-SMS'"),
    (_duplicate_name, f"workflows.{WF}.jobs.{FAILED}.name", "duplicate job name"),
    (_cycle, "workflows.Loop.edges.b->a", "closes a cycle"),
    (_bad_cron, f"workflows.{WF}.triggers.nightly.cron_expression", "not a valid cron"),
    (_unknown_adaptor, f"workflows.{WF}.jobs.{SEND}.adaptor", "unknown adaptor"),
    (_bad_type, f"workflows.{WF}.triggers.webhook.type", "'webhook', 'cron' or 'kafka'"),
    (_duplicate_workflow, "workflows.Copy.name", "duplicate workflow name"),
    (_typo, f"workflows.{WF}.jobs.{SEND}.adapter", "Extra inputs are not permitted"),
]


@pytest.mark.parametrize(("mutate", "loc", "message"), CASES, ids=[c[0].__name__ for c in CASES])
def test_invalid_documents_name_the_path(
    client: TestClient, auth: dict, session, mutate: Any, loc: str, message: str
) -> None:
    spec = yaml.safe_load(EXAMPLE)
    mutate(spec)
    response = provision_json(client, auth, spec)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["detail"].startswith(f"Invalid project document: {loc}: ")
    assert any(e["loc"] == loc and message in e["message"] for e in body["errors"]), body
    assert session.exec(select(Project)).all() == [], "nothing was written"


def test_duplicate_yaml_keys_are_refused_with_the_line(client: TestClient, auth: dict) -> None:
    text = EXAMPLE.replace(
        "    triggers:\n", f"      {SEND}:\n        name: again\n    triggers:\n", 1
    )
    response = provision_yaml(client, auth, text)
    assert response.status_code == 422
    assert response.json()["detail"] == f"line 41: duplicate key '{SEND}'"
    broken = provision_yaml(client, auth, "name: [unclosed")
    assert broken.status_code == 422 and "Invalid YAML: line 1" in broken.json()["detail"]


def test_a_bad_workflow_rolls_back_the_whole_provision(
    client: TestClient, auth: dict, session
) -> None:
    state = state_of(provision_yaml(client, auth))
    spec = yaml.safe_load(EXAMPLE)
    spec["id"] = state["id"]
    spec["description"] = "changed"
    spec["workflows"]["Second"] = {"name": "Second", "jobs": {"x": {"body": "fn(s => s);"}}}
    spec["workflows"]["Third"] = {
        "name": "Third",
        "triggers": {"cron": {"type": "cron", "cron_expression": "61 * * * *"}},
    }
    response = provision_json(client, auth, spec)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == "workflows.Third.triggers.cron.cron_expression"
    session.expire_all()
    assert [w.name for w in session.exec(select(Workflow)).all()] == ["OpenHIE Workflow"]
    assert session.exec(select(Project)).one().description != "changed"


@pytest.mark.parametrize("role", [Role.EDITOR, Role.VIEWER])
def test_only_owners_and_admins_provision(client: TestClient, session, project, role: Role) -> None:
    member = factories.make_user(session)
    factories.add_member(session, project, member, role)
    headers = factories.auth_headers(session, member)
    spec = {**yaml.safe_load(EXAMPLE), "id": str(project.id)}
    response = provision_json(client, headers, spec)
    assert response.status_code == 403
    assert f"'{role.value}'" in response.json()["detail"]
    assert client.get(f"/api/provision/{project.id}", headers=headers).status_code == 200

    admin = factories.make_user(session)
    factories.add_member(session, project, admin, Role.ADMIN)
    allowed = provision_json(client, factories.auth_headers(session, admin), spec)
    assert allowed.status_code == 201, allowed.text


def test_strangers_see_nothing_and_anyone_may_start_a_project(
    client: TestClient, session, project
) -> None:
    stranger = factories.make_user(session)
    headers = factories.auth_headers(session, stranger)
    spec = {**yaml.safe_load(EXAMPLE), "id": str(project.id)}
    assert provision_json(client, headers, spec).status_code == 404
    assert client.get(f"/api/provision/{project.id}", headers=headers).status_code == 404
    yaml_export = client.get("/api/provision/yaml", params={"id": str(project.id)}, headers=headers)
    assert yaml_export.status_code == 404
    assert client.post("/api/provision", json=spec).status_code == 401
    created = provision_yaml(client, headers)
    assert created.status_code == 201
    assert state_of(created)["id"] != str(project.id)


def test_ids_from_another_project_are_refused(client: TestClient, auth: dict, session, project):
    other = state_of(provision_yaml(client, auth))
    spec = yaml.safe_load(EXAMPLE)
    spec["id"] = str(project.id)
    spec["workflows"][WF]["id"] = other["workflows"][WF]["id"]
    response = provision_json(client, auth, spec)
    assert response.status_code == 422
    assert response.json()["errors"][0] == {
        "loc": f"workflows.{WF}.id",
        "message": f"workflow {other['workflows'][WF]['id']} belongs to another project",
    }
    wrong = client.post(
        "/api/provision", json={**spec, "id": other["id"]}, params={"id": str(project.id)},
        headers=auth,
    )  # fmt: skip
    assert wrong.status_code == 422 and wrong.json()["detail"].startswith("id: the document is")
