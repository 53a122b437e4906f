"""What intake stores: every JSON body reads back as the caller sent it, on every
database, whichever writer (small or large bodies) stores it."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from lightning_flows.runs import intake
from lightning_flows.runs import intake_batch as batch
from lightning_flows.runs.models import Dataclip, Run, WorkOrder
from lightning_flows.webhooks import routes
from lightning_flows.webhooks.bodies import Body
from lightning_flows.webhooks.lookup import WebhookTarget, clear_cache, find_target
from tests import factories


@pytest.fixture(autouse=True)
def _fresh_lookup_cache():
    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def hook(session: Session, project):
    return factories.make_workflow(session, project, jobs=["a"], custom_path="intake")


def _body_of(session: Session, response) -> object:
    assert response.status_code == 200, response.text
    run = session.get(Run, uuid.UUID(response.json()["run_id"]))
    assert run is not None and run.state == "available"
    clip = session.get(Dataclip, run.dataclip_id)
    assert clip is not None
    return clip.body


@pytest.mark.parametrize(
    "payload",
    [
        b'[1, "two", {"three": 3}]',
        b'"just a string"',
        b"42",
        b"null",
        b'{"name": "Jos\xc3\xa9", "city": "\xe5\x8c\x97\xe4\xba\xac", "emoji": "\xf0\x9f\x99\x82"}',
        b'{"escaped": "Jos\\u00e9", "quote": "\\"", "newline": "a\\nb"}',
        b'{"big": 123456789012345678901234567890, "small": -0.000001, "dup": 1, "dup": 2}',
        b'{"nested": {"list": [[], {}, [null, true, false]]}}',
    ],
)
def test_json_bodies_read_back_as_sent(
    client: TestClient, session: Session, hook, payload: bytes
) -> None:
    response = client.post(
        "/i/intake", content=payload, headers={"content-type": "application/json"}
    )
    assert _body_of(session, response) == json.loads(payload)


def test_lenient_json_the_strict_parser_refuses_is_still_accepted(
    client: TestClient, session: Session, hook
) -> None:
    payload = b'\xef\xbb\xbf{"with": "a byte order mark"}'
    response = client.post(
        "/i/intake", content=payload, headers={"content-type": "application/json"}
    )
    assert _body_of(session, response) == {"with": "a byte order mark"}


def test_large_bodies_take_the_large_body_writers(
    client: TestClient, session: Session, hook
) -> None:
    notes = "Dziękuję " * (intake.LARGE_BODY_BYTES // 5)
    responses = [
        client.post("/i/intake", json={"n": i, "notes": notes if i % 2 else "short"})
        for i in range(6)
    ]
    bodies = [_body_of(session, r) for r in responses]
    assert bodies == [{"n": i, "notes": notes if i % 2 else "short"} for i in range(6)]


def test_a_bad_request_in_a_batch_fails_alone(
    session: Session, hook, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch is retried request by request: only the culprit gets a 503."""
    real = batch.BatchWriter.write

    def refuse_poison(self, engine, rows):
        if any(r.request.get("poison") for r in rows):
            raise RuntimeError("poisoned row")
        real(self, engine, rows)

    monkeypatch.setattr(batch.BatchWriter, "write", refuse_poison)
    target = _target(hook)

    async def send_all() -> list[object]:
        writer = intake.get_writer()
        calls = [writer.accept(target, _json_body({"i": i}), {"poison": i == 2}) for i in range(5)]
        return await asyncio.gather(*calls, return_exceptions=True)

    results = asyncio.run(send_all())
    assert [isinstance(r, intake.IntakeUnavailable) for r in results] == [
        False,
        False,
        True,
        False,
        False,
    ]
    assert len(session.exec(select(WorkOrder)).all()) == 4


def test_a_value_the_database_refuses_is_a_422_not_a_503(
    client: TestClient, session: Session, hook, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A data error is the request's fault (fix it), not an outage (retry later)."""
    from sqlalchemy.exc import DataError

    def refuse(self, engine, rows):
        raise DataError("INSERT ...", {}, ValueError("value too long for type"))

    monkeypatch.setattr(batch.BatchWriter, "write", refuse)
    answer = client.post("/i/intake", json={"n": 1})
    assert answer.status_code == 422
    assert "could not be stored as sent" in answer.json()["detail"]
    assert "value too long" in answer.json()["detail"]
    assert session.exec(select(WorkOrder)).all() == []


def test_documented_routes_answer_like_the_fast_path(session: Session, hook) -> None:
    """The FastAPI routes (OpenAPI docs) run the same handlers as the middleware."""
    app = FastAPI()
    app.include_router(routes.router)
    with TestClient(app) as plain:
        stored = plain.post("/i/intake?x=1", json={"via": "route"})
        assert _body_of(session, stored) == {"via": "route"}
        assert stored.headers["x-meta-run-id"] == stored.json()["run_id"]
        assert plain.get("/i/intake").status_code == 200
        assert plain.options("/i/intake").status_code == 204
        assert plain.post("/i/nowhere", json={}).status_code == 404


def _target(workflow) -> WebhookTarget:
    target = find_target(str(workflow.triggers[0].id))
    assert target is not None
    return target


def _json_body(value: object) -> Body:
    raw = json.dumps(value).encode()
    return Body(json=raw, size=len(raw))


def test_a_body_postgresql_would_refuse_is_422_and_the_writer_goes_on(
    client: TestClient, session: Session, hook
) -> None:
    refused = client.post(
        "/i/intake", content=b'{"nul": "\\u0000"}', headers={"content-type": "application/json"}
    )
    assert refused.status_code == 422
    assert "body.nul: contains a NUL character" in refused.json()["detail"]
    assert _body_of(session, client.post("/i/intake", json={"after": 1})) == {"after": 1}
