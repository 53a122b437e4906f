"""Issue 13's hostile and careless requests to the API: each answers 4xx naming the
field, never 5xx, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from lightning_flows.core.config import get_settings
from tests import factories

JSON = {"content-type": "application/json"}
HOSTILE = [
    (b'{"name": NaN}', "body.name", "nan is not a JSON number"),
    (b'{"name": 1e999}', "body.name", "inf is not a JSON number"),
    (b'{"name": -Infinity}', "body.name", "-inf is not a JSON number"),
    (b'{"name": "a\\u0000b"}', "body.name", "NUL character"),
    (b'{"name": "\\ud800"}', "body.name", "unpaired UTF-16 surrogate"),
    (b'{"name": {"x": [1, "\\u0000"]}}', "body.name.x[1]", "NUL character"),
]


def _routes(session: Session, user: factories.User, project: factories.Project) -> list[tuple]:
    wf = factories.make_workflow(session, project)
    run = factories.make_run(session, wf)
    p = f"/api/projects/{project.id}"
    return [
        ("POST", "/api/projects"),
        ("PATCH", p),
        ("POST", f"{p}/workflows"),
        ("PUT", f"{p}/workflows/{wf.id}"),
        ("POST", "/api/credentials"),
        ("POST", "/api/tokens"),
        ("PATCH", "/api/users/me"),
        ("POST", f"{p}/users"),
        ("PATCH", f"{p}/users/{user.id}"),
        ("POST", f"/api/runs/{run.run.id}/retry"),
        ("POST", f"/api/workflows/{wf.id}/runs"),
        ("POST", "/api/provision"),
    ]


@pytest.mark.parametrize(("raw", "field", "message"), HOSTILE, ids=lambda v: str(v)[:24])
def test_hostile_json_is_422_naming_the_field_on_every_route(
    client: TestClient,
    session: Session,
    auth: dict,
    user: factories.User,
    project: factories.Project,
    raw: bytes,
    field: str,
    message: str,
) -> None:
    for method, url in _routes(session, user, project):
        answer = client.request(method, url, content=raw, headers={**auth, **JSON})
        assert answer.status_code == 422, (method, url, answer.text)
        body = answer.json()
        assert body["detail"].startswith(f"{field}: ") and message in body["detail"], body
        assert body["errors"][0]["loc"][0] == "body"


@pytest.mark.parametrize("depth", [300, 2_000, 10_000])
@pytest.mark.parametrize("url", ["/api/projects", "/api/provision"])
def test_deep_json_is_422(client: TestClient, auth: dict, depth: int, url: str) -> None:
    raw = b'{"name": ' + b"[" * depth + b"]" * depth + b"}"
    answer = client.post(url, content=raw, headers={**auth, **JSON})
    assert answer.status_code == 422, answer.text
    assert f"deeper than the {get_settings().json_max_depth}-level limit" in answer.json()["detail"]


def test_deep_yaml_to_provision_is_422(client: TestClient, auth: dict) -> None:
    raw = b"name: " + b"[" * 10_000 + b"]" * 10_000
    answer = client.post(
        "/api/provision", content=raw, headers={**auth, "content-type": "application/yaml"}
    )
    assert answer.status_code == 422, answer.text
    assert "nested deeper than" in answer.json()["detail"]


def test_api_bodies_have_a_limit(
    client: TestClient, auth: dict, project: factories.Project
) -> None:
    limit = get_settings().api_max_body_bytes
    raw = b'{"description": "' + b"x" * (limit + 1_000_000) + b'"}'
    answer = client.patch(f"/api/projects/{project.id}", content=raw, headers={**auth, **JSON})
    assert answer.status_code == 413
    assert f"{limit:,}-byte limit" in answer.json()["detail"]


def test_nul_in_query_and_path_is_422(client: TestClient, auth: dict) -> None:
    answer = client.get("/api/projects?page=1&x=a%00b", headers=auth)
    assert answer.status_code == 422 and answer.json()["detail"].startswith("query.x: ")
    answer = client.get("/api/provision/yaml?id=a%00b", headers=auth)
    assert answer.status_code == 422
    answer = client.get("/api/projects/a%00b", headers=auth)
    assert answer.status_code == 422 and answer.json()["detail"].startswith("path: ")


def test_nul_in_a_form_field_is_422(client: TestClient) -> None:
    answer = client.post(
        "/login",
        content=b"email=a%00b&password=x",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 422 and answer.json()["detail"].startswith("body.email: ")


def test_a_value_too_long_for_its_column_is_not_a_500(client: TestClient, auth: dict) -> None:
    answer = client.post("/api/tokens", json={"name": "x" * 5_000}, headers=auth)
    assert answer.status_code < 500, answer.text


@pytest.mark.parametrize("digits", [12, 31, 5_000])
def test_huge_integers_are_4xx(client: TestClient, auth: dict, project, digits: int) -> None:
    raw = b'{"name": "x", "concurrency": 1' + b"0" * digits + b"}"
    for method, url in (("POST", "/api/projects"), ("PATCH", f"/api/projects/{project.id}")):
        answer = client.request(method, url, content=raw, headers={**auth, **JSON})
        assert answer.status_code in (200, 201, 422), answer.text  # 32-bit columns: 422 on PG
