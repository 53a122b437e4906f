"""The unmodified @openfn/language-collections adaptor against our API, inside real runs.

A worker executes the runs; the API is served by uvicorn on 127.0.0.1 and the
engine hands each step `collections_endpoint` and a run token. Jobs use
`collections.` without declaring the adaptor, under language-common and
language-http.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlmodel import Session

from lightning_flows.collections import items, service
from lightning_flows.runs.models import Dataclip
from tests import factories
from tests.support.collections_api import live_collections_api
from tests.support.runs import logs_of, steps_of, wait_for_run

pytestmark = pytest.mark.slow

HTTP = "@openfn/language-http@7.2.10"

STORE = """
collections.set('mappings', (item) => item.code, $.data.facilities);
collections.set('mappings', 'single', { hello: 'world' });
fn(state => { console.log('token', state.configuration.collections_token); return state; });
"""

READ = """
collections.get('mappings', 'single');
fn(state => { state.single = state.data; return state; });
collections.get('mappings', { key: 'fac-*', limit: 2, pageSize: 1 });
fn(state => {
  state.first = state.data.map(d => d.key);
  state.firstValue = state.data[0].value;
  state.cursor = state.data.cursor;
  return state;
});
collections.each('mappings', { key: 'fac-*', cursor: $.cursor }, (state, value, key) => {
  state.rest = [...(state.rest || []), key];
});
"""

CLEAN = """
collections.remove('mappings', 'single');
collections.remove('mappings', 'fac-00*');
collections.get('mappings', '*');
fn(state => { state.remaining = state.data.map(d => d.key); return state; });
"""


@pytest.fixture
def collections_api(monkeypatch: pytest.MonkeyPatch, database_url: str) -> Iterator[str]:
    with live_collections_api(monkeypatch) as url:
        yield url


def _output(session: Session, step) -> dict:
    return session.get(Dataclip, step.output_dataclip_id).body


def test_get_set_remove_each_with_patterns_cursors_and_limits(
    session: Session, project, collections_api: str, worker
) -> None:
    service.create_collection(session, project.id, "mappings", None)
    doc = factories.workflow_doc(jobs={"store": STORE, "read": READ, "clean": CLEAN})
    doc.jobs[1].adaptor = HTTP  # any adaptor: no second adaptor declared
    wf = factories.make_workflow(session, project, doc)
    facilities = [
        {"code": c, "name": f"Facility {c}"}
        for c in ("fac-001", "fac-002", "fac-003", "fac-010", "lab-1")
    ]
    run = wait_for_run(
        session, factories.make_run(session, wf, {"facilities": facilities}).run.id, 180
    )
    steps = steps_of(session, run.id)
    assert run.state == "success", [(s.exit_reason, s.error_message) for s in steps]

    read = _output(session, steps[1])
    assert read["single"] == {"hello": "world"}
    assert read["first"] == ["fac-001", "fac-002"]
    assert read["firstValue"] == {"code": "fac-001", "name": "Facility fac-001"}
    assert read["cursor"]
    assert read["rest"] == ["fac-003", "fac-010"]
    assert _output(session, steps[2])["remaining"] == ["fac-010", "lab-1"]

    collection = service.get_by_name(session, project.id, "mappings")
    stored = items.get(session, collection, "lab-1")
    assert stored is not None and json.loads(stored.value)["name"] == "Facility lab-1"

    lines = [line.message for line in logs_of(session, run.id)]
    token_lines = [m for m in lines if m.startswith("token")]
    assert token_lines == ["token ***"], token_lines
    assert not any("lfc1." in m for m in lines)
    for step in steps:  # the token never reaches a saved state
        assert "collections_token" not in json.dumps(_output(session, step))


def test_a_run_cannot_reach_another_projects_collection(
    session: Session, project, collections_api: str, worker
) -> None:
    service.create_collection(session, project.id, "private", None)
    other = factories.make_project(session)
    wf = factories.make_workflow(
        session, other, jobs={"peek": "collections.get('private', 'anything');"}
    )
    run = wait_for_run(session, factories.make_run(session, wf).run.id, 180)
    (step,) = steps_of(session, run.id)
    assert run.state == "failed"
    assert "COLLECTION_NOT_FOUND" in (step.error_message or "") + (step.error_type or "")


def test_a_local_run_uses_a_personal_token_like_openfns_cli(
    session: Session, user: factories.User, project, collections_api: str, tmp_path
) -> None:
    from lightning_flows.engine.local import load_plan, run_local

    service.create_collection(session, project.id, "local-codes", None)
    job = tmp_path / "job.js"
    job.write_text(
        "collections.set('local-codes', 'k', { v: 1 });\ncollections.get('local-codes', 'k');\n"
    )
    token = factories.auth_headers(session, user)["Authorization"].removeprefix("Bearer ")
    configuration = {
        "collections_endpoint": f"{collections_api}/collections",
        "collections_token": token,
    }
    run = run_local(load_plan(job), {"configuration": configuration})
    assert run.walk.state == "success", run.walk
    assert run.output == {"data": {"v": 1}}
    assert not any(token in entry.message for entry in run.logs)


def test_running_one_step_from_the_builder_reaches_the_projects_collections(
    session: Session, project, collections_api: str
) -> None:
    from lightning_flows.testing.execution import draft_document, execute

    collection = service.create_collection(session, project.id, "lookups", None)
    items.put_many(session, collection, [("a", json.dumps({"v": 2}))], None, via="test")
    body = "collections.get('lookups', 'a');\nfn(s => { console.log(s.configuration); return s; });"
    doc = draft_document(factories.workflow_doc(jobs={"look": body}).model_dump(mode="json"))
    run = execute(session, project.id, doc, {}, job_id=doc["jobs"][0]["id"], only_start=True)
    assert run.walk.state == "success", run.walk
    assert run.output == {"data": {"v": 2}}
    assert not any("lfc1." in entry.message for entry in run.logs)
