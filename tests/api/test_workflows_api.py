"""The workflow document API: round trip, validation naming the offending edge, locking."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from tests import factories


def _doc() -> dict:
    trig, a, b, c = (str(uuid.uuid4()) for _ in range(4))
    return {
        "name": "Register patient",
        "jobs": [
            {
                "id": a,
                "name": "Fetch",
                "adaptor": "@openfn/language-http@7.2.10",
                "body": "get('/x');",
            },
            {"id": b, "name": "Transform", "body": "fn(s => s);"},
            {"id": c, "name": "Alert", "body": "fn(s => s);"},
        ],
        "triggers": [{"id": trig, "type": "webhook", "custom_path": "register-patient"}],
        "edges": [
            {"source_trigger_id": trig, "target_job_id": a, "condition_type": "always"},
            {"source_job_id": a, "target_job_id": b, "condition_type": "on_job_success"},
            {
                "source_job_id": a,
                "target_job_id": c,
                "condition_type": "on_job_failure",
                "condition_label": "when fetch fails",
            },
        ],
    }


def test_workflow_round_trips_with_ids(client: TestClient, auth: dict, project) -> None:
    doc = _doc()
    created = client.post(f"/api/projects/{project.id}/workflows", json=doc, headers=auth)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["lock_version"] == 1
    assert [j["id"] for j in body["jobs"]] == [j["id"] for j in doc["jobs"]]
    assert all(e["id"] for e in body["edges"])
    assert body["triggers"][0]["custom_path"] == "register-patient"
    assert body["jobs"][1]["adaptor"] == "@openfn/language-common@3.3.4", "@latest is pinned"

    fetched = client.get(f"/api/projects/{project.id}/workflows/{body['id']}", headers=auth)
    assert fetched.status_code == 200
    assert fetched.json()["jobs"] == body["jobs"]
    assert {e["condition_label"] for e in fetched.json()["edges"]} == {None, "when fetch fails"}

    listed = client.get(f"/api/projects/{project.id}/workflows", headers=auth).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == body["id"]


def test_put_replaces_graph_and_bumps_lock_version(client: TestClient, auth: dict, project) -> None:
    body = client.post(f"/api/projects/{project.id}/workflows", json=_doc(), headers=auth).json()
    url = f"/api/projects/{project.id}/workflows/{body['id']}"
    doc = {**body, "jobs": body["jobs"][:2], "edges": body["edges"][:2], "name": "Renamed"}
    replaced = client.put(url, json=doc, headers=auth)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["lock_version"] == 2
    assert [j["name"] for j in replaced.json()["jobs"]] == ["Fetch", "Transform"]
    stale = client.put(url, json={**doc, "lock_version": 1}, headers=auth)
    assert stale.status_code == 409
    assert "saved by someone else" in stale.json()["detail"]


def test_cycle_is_refused_naming_the_edge(client: TestClient, auth: dict, project) -> None:
    doc = _doc()
    a, b = doc["jobs"][0]["id"], doc["jobs"][1]["id"]
    doc["edges"] = [
        {"source_job_id": a, "target_job_id": b},
        {"source_job_id": b, "target_job_id": a},
    ]
    doc["edges"][1]["id"] = edge_id = str(uuid.uuid4())
    response = client.post(f"/api/projects/{project.id}/workflows", json=doc, headers=auth)
    assert response.status_code == 422
    assert "cycle" in response.json()["detail"]
    assert edge_id in response.json()["detail"]


def test_missing_target_is_named_and_two_parents_are_accepted(
    client: TestClient, auth: dict, project
) -> None:
    doc = _doc()
    ghost = str(uuid.uuid4())
    doc["edges"].append({"source_job_id": doc["jobs"][1]["id"], "target_job_id": ghost})
    response = client.post(f"/api/projects/{project.id}/workflows", json=doc, headers=auth)
    assert response.status_code == 422
    assert f"target job {ghost} is not in this workflow" in response.json()["detail"]

    doc = _doc()
    doc["edges"].append(
        {"source_job_id": doc["jobs"][1]["id"], "target_job_id": doc["jobs"][2]["id"]}
    )
    response = client.post(f"/api/projects/{project.id}/workflows", json=doc, headers=auth)
    assert response.status_code == 201, response.text  # Lightning's validator allows it too
    assert len(response.json()["edges"]) == 4


def test_trigger_edge_condition_and_js_expression_rules(
    client: TestClient, auth: dict, project
) -> None:
    doc = _doc()
    doc["edges"][0]["condition_type"] = "on_job_success"
    doc["edges"][1].update(condition_type="js_expression", condition_expression="")
    response = client.post(f"/api/projects/{project.id}/workflows", json=doc, headers=auth)
    assert response.status_code == 422
    messages = [e["message"] for e in response.json()["errors"]]
    assert "an edge from a trigger must be 'always' or 'js_expression'" in messages
    assert "a js_expression edge needs a condition_expression" in messages


def test_bad_cron_and_duplicate_names(client: TestClient, auth: dict, project) -> None:
    doc = _doc()
    doc["triggers"][0] = {
        **doc["triggers"][0],
        "type": "cron",
        "custom_path": None,
        "cron_expression": "every day",
    }
    doc["jobs"][2]["name"] = "Fetch"
    errors = client.post(f"/api/projects/{project.id}/workflows", json=doc, headers=auth).json()[
        "errors"
    ]
    locs = {e["loc"] for e in errors}
    assert {"jobs[2].name", "triggers[0].cron_expression"} <= locs


def test_custom_path_and_workflow_name_conflicts(client: TestClient, auth: dict, project) -> None:
    assert (
        client.post(f"/api/projects/{project.id}/workflows", json=_doc(), headers=auth).status_code
        == 201
    )
    again = _doc()
    again["name"] = "Other"
    response = client.post(f"/api/projects/{project.id}/workflows", json=again, headers=auth)
    assert response.status_code == 409
    assert "custom path" in response.json()["detail"]
    same_name = _doc()
    same_name["triggers"][0]["custom_path"] = None
    response = client.post(f"/api/projects/{project.id}/workflows", json=same_name, headers=auth)
    assert response.status_code == 409
    assert "name already exists" in response.json()["detail"]


def test_deleted_workflow_is_gone_and_name_reusable(
    client: TestClient, auth: dict, project
) -> None:
    body = client.post(f"/api/projects/{project.id}/workflows", json=_doc(), headers=auth).json()
    url = f"/api/projects/{project.id}/workflows/{body['id']}"
    assert client.delete(url, headers=auth).status_code == 204
    assert client.get(url, headers=auth).status_code == 404
    doc = _doc()
    doc["triggers"][0]["custom_path"] = "another-path"
    assert (
        client.post(f"/api/projects/{project.id}/workflows", json=doc, headers=auth).status_code
        == 201
    )


def test_ids_of_another_workflow_are_refused(
    client: TestClient, auth: dict, session, project
) -> None:
    other = factories.make_workflow(session, project)
    doc = _doc()
    doc["jobs"][0]["id"] = str(other.jobs[0].id)
    doc["edges"][0]["target_job_id"] = doc["edges"][1]["source_job_id"] = doc["edges"][2][
        "source_job_id"
    ] = str(other.jobs[0].id)
    response = client.post(f"/api/projects/{project.id}/workflows", json=doc, headers=auth)
    assert response.status_code == 422
    assert "belongs to another workflow" in response.json()["detail"]


def test_non_member_cannot_see_workflows(client: TestClient, session, project) -> None:
    stranger = factories.make_user(session)
    headers = factories.auth_headers(session, stranger)
    response = client.get(f"/api/projects/{project.id}/workflows", headers=headers)
    assert response.status_code == 404


def test_adaptor_shorthand_is_pinned_and_unknown_is_422(
    client: TestClient, auth: dict, project
) -> None:
    doc = _doc()
    doc["jobs"][0]["adaptor"] = "http"
    body = client.post(f"/api/projects/{project.id}/workflows", json=doc, headers=auth).json()
    assert body["jobs"][0]["adaptor"] == "@openfn/language-http@7.2.10"
    doc = _doc()
    doc["triggers"][0]["custom_path"] = None
    doc["name"] = "other"
    doc["jobs"][0]["adaptor"] = "Not An Adaptor!"
    response = client.post(f"/api/projects/{project.id}/workflows", json=doc, headers=auth)
    assert response.status_code == 422
    assert "jobs[0].adaptor: unknown adaptor" in response.json()["detail"]


def test_on_worker_loss_is_saved_and_checked(client: TestClient, auth: dict, project) -> None:
    """What happens to a run whose worker dies: `resume` by default, `mark_lost` on request."""
    created = client.post(f"/api/projects/{project.id}/workflows", json=_doc(), headers=auth)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["on_worker_loss"] == "resume"
    url = f"/api/projects/{project.id}/workflows/{body['id']}"
    doc = {**body, "on_worker_loss": "mark_lost"}
    saved = client.put(url, json=doc, headers=auth)
    assert saved.status_code == 200, saved.text
    assert client.get(url, headers=auth).json()["on_worker_loss"] == "mark_lost"
    wrong = client.put(url, json={**saved.json(), "on_worker_loss": "retry"}, headers=auth)
    assert wrong.status_code == 422
    assert "on_worker_loss" in wrong.text
