"""Test cases through `POST /api/provision`: problems named by path, OpenFn's list shape."""

from __future__ import annotations

from fastapi.testclient import TestClient

SPEC = {
    "name": "shop",
    "workflows": [
        {
            "name": "orders",
            "jobs": [
                {"name": "a", "adaptor": "@openfn/language-common@3.3.4", "body": "fn(s => s);"}
            ],
            "triggers": [{"type": "webhook"}],
            "edges": [],
            "test_cases": {
                "first": {
                    "input": "order 1",
                    "input_body": {"data": {"id": 1}},
                    "assertion": "true",
                }
            },
        }
    ],
}


def test_provision_creates_the_named_input_and_the_case(client: TestClient, auth) -> None:
    answer = client.post("/api/provision", json=SPEC, headers=auth)
    assert answer.status_code == 201, answer.text
    project_id = answer.json()["data"]["id"]
    workflow = answer.json()["data"]["workflows"][0]
    assert workflow["test_cases"]["first"]["input_body"] == {"data": {"id": 1}}
    named = client.get(f"/api/projects/{project_id}/dataclips", headers=auth).json()
    assert [c["name"] for c in named["items"]] == ["order 1"]
    cases = client.get(f"/api/workflows/{workflow['id']}/test_cases", headers=auth).json()
    assert [(c["name"], c["input"], c["assertion"]) for c in cases] == [
        ("first", "order 1", "true")
    ]
    yaml_text = client.get(f"/api/provision/yaml?id={project_id}", headers=auth).text
    assert "test_cases:" in yaml_text and "input: order 1" in yaml_text


def test_problems_name_the_test_case(client: TestClient, auth) -> None:
    bad = {
        **SPEC,
        "workflows": [
            {**SPEC["workflows"][0], "test_cases": {"x": {"input": "nope", "assertion": "true"}}}
        ],
    }
    answer = client.post("/api/provision", json=bad, headers=auth)
    assert answer.status_code == 422
    assert "workflows.orders.test_cases.x.input" in answer.json()["detail"]
    assert "no dataclip named 'nope'" in answer.json()["detail"]

    empty = {
        **SPEC,
        "workflows": [
            {**SPEC["workflows"][0], "test_cases": {"x": {"input": "a", "input_body": {}}}}
        ],
    }
    answer = client.post("/api/provision", json=empty, headers=auth)
    assert answer.status_code == 422
    assert "expected_data or an assertion" in answer.json()["detail"]
