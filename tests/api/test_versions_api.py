"""Workflow versions: list, diff two versions, restore an old one; runs keep their snapshot."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from lightning_flows.projects.models import Role
from lightning_flows.runs.models import Run
from lightning_flows.workflows.schemas import WorkflowPublic
from tests import factories
from tests.support.projects import provision_yaml, state_of


def _two_versions(client: TestClient, auth: dict, project) -> tuple[str, dict, dict]:
    doc = factories.workflow_doc(
        name="Register", jobs={"fetch": "get('/a');\n", "store": "fn(s => s);\n"}
    ).model_dump(mode="json")
    base = f"/api/projects/{project.id}/workflows"
    first = client.post(base, json=doc, headers=auth).json()
    second_doc = {**first, "lock_version": None}
    second_doc["jobs"][0]["body"] = "get('/b');\nfn(s => s);\n"
    second_doc["jobs"].append({"name": "alert", "body": "fn(s => s);"})
    second_doc["edges"].append(
        {
            "source_job_id": first["jobs"][0]["id"],
            "condition_type": "on_job_failure",
            "target_job_id": None,
        }
    )
    alert_id = str(uuid.uuid4())
    second_doc["jobs"][-1]["id"] = alert_id
    second_doc["edges"][-1]["target_job_id"] = alert_id
    second = client.put(f"{base}/{first['id']}", json=second_doc, headers=auth)
    assert second.status_code == 200, second.text
    return f"{base}/{first['id']}/versions", first, second.json()


def test_versions_are_listed_newest_first(client: TestClient, auth: dict, project, user) -> None:
    url, _first, _second = _two_versions(client, auth, project)
    page = client.get(url, headers=auth).json()
    assert page["total"] == 2
    newest, oldest = page["items"]
    assert (newest["lock_version"], oldest["lock_version"]) == (2, 1)
    assert newest["source"] == "app" and newest["author_email"] == user.email
    assert len(newest["short_hash"]) == 7 and newest["hash"].startswith(newest["short_hash"])
    detail = client.get(f"{url}/{oldest['id']}", headers=auth).json()
    assert len(detail["document"]["jobs"]) == 2


def test_diff_names_added_and_changed_items_with_body_diff(
    client: TestClient, auth: dict, project
) -> None:
    url, _first, _second = _two_versions(client, auth, project)
    newest, oldest = client.get(url, headers=auth).json()["items"]
    response = client.get(f"{url}/diff", params={"from": oldest["id"]}, headers=auth)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["to_version"]["id"] == newest["id"]
    changes = {(i["kind"], i["name"], i["change"]) for i in body["diff"]["items"]}
    assert changes == {
        ("job", "fetch", "changed"),
        ("job", "alert", "added"),
        ("edge", "fetch -> alert", "added"),
    }
    fetch = next(i for i in body["diff"]["items"] if i["name"] == "fetch")
    assert "-get('/a');\n+get('/b');\n+fn(s => s);\n" in fetch["body_diff"]
    back = client.get(
        f"{url}/diff", params={"from": newest["id"], "to": oldest["id"]}, headers=auth
    ).json()
    assert {(i["name"], i["change"]) for i in back["diff"]["items"]} >= {("alert", "removed")}


def test_restore_makes_a_new_version_and_runs_keep_their_snapshot(
    client: TestClient, auth: dict, session, project
) -> None:
    url, _first, second = _two_versions(client, auth, project)
    run = factories.make_run(session, WorkflowPublic.model_validate(second)).run
    newest, oldest = client.get(url, headers=auth).json()["items"]
    restored = client.post(f"{url}/{oldest['id']}/restore", headers=auth)
    assert restored.status_code == 201, restored.text
    assert restored.json()["lock_version"] == 3
    assert [j["name"] for j in restored.json()["jobs"]] == ["fetch", "store"]
    assert restored.json()["jobs"][0]["body"] == "get('/a');\n"
    latest = client.get(url, headers=auth).json()["items"][0]
    assert latest["lock_version"] == 3 and latest["hash"] == oldest["hash"]
    session.expire_all()
    assert session.get(Run, run.id).snapshot_id == uuid.UUID(newest["snapshot_id"])
    diff = client.get(f"{url}/diff", params={"from": oldest["id"]}, headers=auth).json()
    assert diff["diff"]["change"] == "unchanged"


def test_viewers_read_history_but_cannot_restore(client: TestClient, auth: dict, session, project):
    url, _first, _second = _two_versions(client, auth, project)
    viewer = factories.make_user(session)
    factories.add_member(session, project, viewer, Role.VIEWER)
    headers = factories.auth_headers(session, viewer)
    oldest = client.get(url, headers=headers).json()["items"][-1]
    assert client.post(f"{url}/{oldest['id']}/restore", headers=headers).status_code == 403
    stranger = factories.auth_headers(session, factories.make_user(session))
    assert client.get(url, headers=stranger).status_code == 404
    assert client.get(f"{url}/{uuid.uuid4()}", headers=auth).status_code == 404


def test_provisioned_versions_say_cli(client: TestClient, auth: dict) -> None:
    state = state_of(provision_yaml(client, auth))
    (workflow,) = state["workflows"].values()
    url = f"/api/projects/{state['id']}/workflows/{workflow['id']}/versions"
    (version,) = client.get(url, headers=auth).json()["items"]
    assert version["source"] == "cli"
