"""`POST /i/{trigger}`: every request is stored durably or refused with a clear status."""

from __future__ import annotations

import base64
import json
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from lightning_flows.core.config import get_settings
from lightning_flows.runs.models import Dataclip, Run, WorkOrder
from lightning_flows.webhooks.lookup import clear_cache
from tests import factories


@pytest.fixture(autouse=True)
def _fresh_lookup_cache():
    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def hook(session: Session, project):
    return factories.make_workflow(session, project, jobs=["a"], custom_path="patients")


def _stored(session: Session, run_id: str) -> tuple[Run, WorkOrder, Dataclip]:
    run = session.get(Run, uuid.UUID(run_id))
    work_order = session.get(WorkOrder, run.work_order_id)
    return run, work_order, session.get(Dataclip, run.dataclip_id)


def test_json_request_is_stored_and_acknowledged(
    client: TestClient, session: Session, hook
) -> None:
    response = client.post(
        f"/i/{hook.triggers[0].id}?source=clinic",
        json={"patient": {"name": "Amara", "age": 34}},
        headers={"x-api-key": "not-a-method-so-ignored", "Authorization": "Bearer x"},
    )
    assert response.status_code == 200, response.text
    ids = response.json()
    assert response.headers["x-meta-work-order-id"] == ids["work_order_id"]
    assert response.headers["x-meta-run-id"] == ids["run_id"]
    run, work_order, clip = _stored(session, ids["run_id"])
    assert str(work_order.id) == ids["work_order_id"]
    assert (run.state, work_order.state, clip.type) == ("available", "pending", "http_request")
    assert run.starting_trigger_id == hook.triggers[0].id
    assert clip.body == {"patient": {"name": "Amara", "age": 34}}
    assert clip.request["query_params"] == {"source": "clinic"}
    assert clip.request["headers"]["authorization"] == "[REDACTED]"
    assert clip.request["headers"]["x-api-key"] == "[REDACTED]"


def test_custom_path_and_get(client: TestClient, hook) -> None:
    assert client.post("/i/patients", json={}).status_code == 200
    got = client.get("/i/patients")
    assert got.status_code == 200 and "accepts POST" in got.text
    assert client.get("/i/nothing-here").status_code == 404


@pytest.mark.parametrize(
    ("content_type", "payload", "expected"),
    [
        (
            "application/x-www-form-urlencoded",
            b"name=Amara&tag=a&tag=b",
            {"name": "Amara", "tag": ["a", "b"]},
        ),
        (
            "application/xml",
            b"<patient><name>Amara</name></patient>",
            "<patient><name>Amara</name></patient>",
        ),
        ("text/plain; charset=utf-8", "Dziękuję".encode(), "Dziękuję"),
        ("application/vnd.api+json", b'{"data": [1]}', {"data": [1]}),
        ("application/json", b"", {}),
    ],
)
def test_content_types(
    client: TestClient, session: Session, hook, content_type, payload, expected
) -> None:
    response = client.post("/i/patients", content=payload, headers={"content-type": content_type})
    assert response.status_code == 200, response.text
    assert _stored(session, response.json()["run_id"])[2].body == expected


def test_multipart_with_a_file(client: TestClient, session: Session, hook) -> None:
    response = client.post(
        "/i/patients",
        data={"district": "Kailahun"},
        files={"report": ("report.csv", b"id,name\n1,Amara\n", "text/csv")},
    )
    assert response.status_code == 200, response.text
    body = _stored(session, response.json()["run_id"])[2].body
    assert body["district"] == "Kailahun"
    assert body["report"]["filename"] == "report.csv"
    assert base64.b64decode(body["report"]["content_base64"]) == b"id,name\n1,Amara\n"


@pytest.mark.parametrize(
    ("content_type", "payload", "status", "words"),
    [
        ("application/json", b'{"a": 1,,}', 422, "line 1, column 9"),
        ("application/xml", b"<a><b></a>", 422, "not well-formed"),
        ("application/xml", b'<!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>', 422, "not allowed"),
        ("application/octet-stream", b"\x00\x01", 415, "Unsupported content type"),
    ],
)
def test_unusable_bodies_are_refused_and_nothing_stored(
    client: TestClient, session: Session, hook, content_type, payload, status, words
) -> None:
    response = client.post("/i/patients", content=payload, headers={"content-type": content_type})
    assert response.status_code == status
    assert words in response.json()["detail"]
    assert session.exec(select(WorkOrder)).all() == []


def test_body_over_the_limit_is_413_before_storing(
    client: TestClient, session: Session, hook, monkeypatch
) -> None:
    monkeypatch.setattr(get_settings(), "webhook_max_body_bytes", 2048)
    big = json.dumps({"x": "y" * 5000})
    response = client.post("/i/patients", content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413

    def chunks():
        for _ in range(10):
            yield b" " * 1000

    streamed = client.post(
        "/i/patients", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413
    assert session.exec(select(WorkOrder)).all() == []


def test_unknown_and_cron_triggers_are_404(client: TestClient, session: Session, project) -> None:
    cron = factories.make_workflow(session, project, trigger="cron", cron_expression="0 * * * *")
    assert client.post(f"/i/{cron.triggers[0].id}", json={}).status_code == 404
    assert client.post("/i/00000000-0000-0000-0000-000000000000", json={}).status_code == 404


def test_disabled_trigger_is_403(client: TestClient, session: Session, project) -> None:
    wf = factories.make_workflow(session, project, enabled=False)
    response = client.post(f"/i/{wf.triggers[0].id}", json={})
    assert response.status_code == 403 and "disabled" in response.json()["detail"]


def test_webhook_auth_methods(client: TestClient, session: Session, hook, project, auth) -> None:
    base = f"/api/projects/{project.id}"
    basic = client.post(
        f"{base}/webhook_auth_methods",
        json={
            "name": "clinic",
            "auth_type": "basic",
            "username": "clinic",
            "password": "pa55word!",
        },
        headers=auth,
    )
    api = client.post(
        f"{base}/webhook_auth_methods", json={"name": "kobo", "auth_type": "api"}, headers=auth
    )
    assert basic.status_code == api.status_code == 201
    key = api.json()["secret"]
    assert len(key) >= 32
    attached = client.put(
        f"{base}/triggers/{hook.triggers[0].id}/webhook_auth_methods",
        json={"webhook_auth_method_ids": [basic.json()["id"], api.json()["id"]]},
        headers=auth,
    )
    assert attached.status_code == 200
    listed = client.get(f"{base}/webhook_auth_methods", headers=auth).json()
    assert {m["secret"] for m in listed} == {"********"}, "secrets are not shown again"

    missing = client.post("/i/patients", json={})
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Basic")
    assert client.post("/i/patients", json={}, auth=("clinic", "wrong")).status_code == 404
    assert client.post("/i/patients", json={}, headers={"x-api-key": "nope"}).status_code == 404
    assert client.get("/i/patients", headers={"x-api-key": "nope"}).status_code == 404
    assert client.post("/i/patients", json={}, auth=("clinic", "pa55word!")).status_code == 200
    assert client.post("/i/patients", json={}, headers={"x-api-key": key}).status_code == 200
    assert len(session.exec(select(WorkOrder)).all()) == 2


def test_only_admins_manage_webhook_auth(client: TestClient, session: Session, project) -> None:
    from lightning_flows.projects.models import Role

    editor = factories.make_user(session)
    factories.add_member(session, project, editor, Role.EDITOR)
    response = client.post(
        f"/api/projects/{project.id}/webhook_auth_methods",
        json={"name": "k", "auth_type": "api"},
        headers=factories.auth_headers(session, editor),
    )
    assert response.status_code == 403


def test_rate_limit_answers_429_with_retry_after(client: TestClient, hook, monkeypatch) -> None:
    monkeypatch.setattr(get_settings(), "webhook_rate_limit_per_second", 1.0)
    monkeypatch.setattr(get_settings(), "webhook_rate_limit_burst", 2)
    codes = [client.post("/i/patients", json={}).status_code for _ in range(4)]
    assert codes[:2] == [200, 200] and codes[2:] == [429, 429]
    assert client.post("/i/patients", json={}).headers["retry-after"] == "1"


def test_cors_preflight(client: TestClient, hook) -> None:
    response = client.options("/i/patients", headers={"Origin": "https://forms.example.org"})
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"


def test_database_down_is_503_and_nothing_acknowledged(
    client: TestClient, hook, monkeypatch
) -> None:
    from lightning_flows.core import db

    assert client.post("/i/patients", json={}).status_code == 200  # warms the trigger cache
    monkeypatch.setattr(
        db, "_engine", db.make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    )
    response = client.post("/i/patients", json={"n": 1})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
