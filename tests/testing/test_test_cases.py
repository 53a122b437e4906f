"""Test cases: CRUD under the workflow, running them on the saved version or a draft."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from tests import factories

pytestmark = pytest.mark.slow

DOUBLE = "fn(state => ({ ...state, data: { id: state.data.id, double: state.data.id * 2 } }));"


def _workflow_with_input(client: TestClient, session, project, auth, name="order 5"):
    workflow = factories.make_workflow(session, project, jobs={"double": DOUBLE})
    clip = factories.make_run(session, workflow, {"id": 5}).work_order.dataclip_id
    client.patch(f"/api/dataclips/{clip}", json={"name": name}, headers=auth)
    return workflow, clip


def test_test_cases_crud(client: TestClient, session, project, auth) -> None:
    workflow, clip = _workflow_with_input(client, session, project, auth)
    base = f"/api/workflows/{workflow.id}/test_cases"

    created = client.post(
        base,
        json={"name": "doubles", "input": "order 5", "expected_data": {"id": 5, "double": 10}},
        headers=auth,
    )
    assert created.status_code == 201, created.text
    case = created.json()
    assert case["input"] == "order 5" and case["input_dataclip_id"] == str(clip)
    assert case["has_expected_data"] is True

    listed = client.get(base, headers=auth).json()
    assert [c["name"] for c in listed] == ["doubles"]

    replaced = client.put(
        f"{base}/{case['id']}",
        json={
            "name": "doubles",
            "input_dataclip_id": str(clip),
            "assertion": "state.data.double > 9",
        },
        headers=auth,
    ).json()
    assert replaced["assertion"] == "state.data.double > 9"
    assert replaced["has_expected_data"] is False

    dup = client.post(
        base, json={"name": "doubles", "input": "order 5", "assertion": "true"}, headers=auth
    )
    assert dup.status_code == 409
    nothing = client.post(base, json={"name": "x", "input": "order 5"}, headers=auth)
    assert nothing.status_code == 422
    assert "expected_data" in nothing.text
    unknown_input = client.post(
        base, json={"name": "x", "input": "no such", "assertion": "true"}, headers=auth
    )
    assert unknown_input.status_code == 422
    assert "no dataclip named 'no such'" in unknown_input.json()["detail"]

    in_use = client.patch(f"/api/dataclips/{clip}", json={"name": None}, headers=auth)
    assert in_use.status_code == 409
    assert "Test case 'doubles'" in in_use.json()["detail"]

    assert client.delete(f"{base}/{case['id']}", headers=auth).status_code == 204
    assert client.get(f"{base}/{case['id']}", headers=auth).status_code == 404
    assert client.get(f"/api/workflows/{uuid.uuid4()}/test_cases", headers=auth).status_code == 404


def test_run_cases_on_the_saved_version_and_on_a_draft(
    client: TestClient, session, project, auth
) -> None:
    workflow, _clip = _workflow_with_input(client, session, project, auth)
    base = f"/api/workflows/{workflow.id}/test_cases"
    client.post(
        base,
        json={"name": "doubles", "input": "order 5", "expected_data": {"id": 5, "double": 10}},
        headers=auth,
    )
    client.post(
        base,
        json={"name": "asserts", "input": "order 5", "assertion": "state.data.double === 10"},
        headers=auth,
    )

    saved = client.post(f"{base}/run", headers=auth).json()
    assert (saved["passed"], saved["failed"]) == (2, 0), saved

    draft = workflow.model_dump(mode="json")
    draft["jobs"][0]["body"] = DOUBLE.replace("* 2", "* 3")
    ran = client.post(f"{base}/run", json={"document": draft}, headers=auth).json()
    assert (ran["passed"], ran["failed"]) == (0, 2)
    by_name = {r["name"]: r for r in ran["results"]}
    diff = by_name["doubles"]["diff"].splitlines()
    assert '-  "double": 10,' in diff and '+  "double": 15,' in diff
    assert by_name["asserts"]["problems"] == ["The assertion is false: state.data.double === 10"]
    # the draft was not saved
    again = client.post(f"{base}/run", headers=auth).json()
    assert again["failed"] == 0

    project_wide = client.post(f"/api/projects/{project.id}/test_cases/run", headers=auth).json()
    assert project_wide["passed"] == 2
