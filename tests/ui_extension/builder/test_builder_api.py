"""The builder's JSON endpoints: save, validation errors, conflicts, permissions, CSRF, runs."""

from __future__ import annotations

import uuid

from sqlmodel import select

from lightning_flows.projects.models import Role
from lightning_flows.runs.models import Run
from lightning_flows.webhooks import auth_methods
from lightning_flows.workflows.models import WorkflowVersion
from tests import factories
from tests.ui_extension.builder.helpers import Builder, document


def test_save_creates_then_updates_a_workflow(client, session, user, project) -> None:
    builder = Builder(client, user, project)
    doc = document(
        jobs=["fetch", "store"], edges=[("trigger", "fetch"), ("fetch", "store", "on_job_success")]
    )
    doc["positions"] = {doc["jobs"][0]["id"]: {"x": 10, "y": 20}}
    created = builder.save(doc)
    assert created.status_code == 201, created.text
    answer = created.json()
    workflow = answer["workflow"]
    assert answer["url"] == f"/projects/{project.id}/workflows/{workflow['id']}"
    assert answer["compile"] == [] and answer["warnings"] == []
    assert [j["id"] for j in workflow["jobs"]] == [j["id"] for j in doc["jobs"]]  # client ids kept
    assert workflow["positions"] == doc["positions"]
    assert workflow["jobs"][0]["adaptor"] == "@openfn/language-common@3.3.4"

    workflow["name"] = "renamed"
    updated = builder.save(workflow, workflow["id"])
    assert updated.status_code == 200, updated.text
    assert updated.json()["workflow"]["lock_version"] == 2
    versions = session.exec(select(WorkflowVersion)).all()
    assert {v.source for v in versions} == {"app"} and len(versions) == 2


def test_stale_lock_version_is_a_conflict(client, session, user, project) -> None:
    builder = Builder(client, user, project)
    workflow = factories.make_workflow(session, project, jobs=["a"])
    doc = workflow.model_dump(mode="json")
    assert builder.save(doc, workflow.id).status_code == 200
    again = builder.save(doc, workflow.id)  # still lock_version 1: someone saved since
    assert again.status_code == 409
    assert again.json()["stale"] is True and "Reload" in again.json()["detail"]


def test_graph_errors_name_the_edge(client, user, project) -> None:
    builder = Builder(client, user, project)
    doc = document(jobs=["a", "b"], edges=[("trigger", "a"), ("a", "b", "js_expression")])
    answer = builder.save(doc)
    assert answer.status_code == 422
    (problem,) = answer.json()["errors"]
    assert problem["target"] == {"kind": "edge", "id": doc["edges"][1]["id"], "field": None}
    assert "condition_expression" in problem["message"]


def test_schema_errors_name_the_field(client, user, project) -> None:
    builder = Builder(client, user, project)
    doc = document(jobs=["a", "b"])
    doc["jobs"][1]["name"] = ""
    answer = builder.save(doc)
    assert answer.status_code == 422
    (problem,) = answer.json()["errors"]
    assert problem["loc"] == "jobs[1].name"
    assert problem["target"] == {"kind": "job", "id": doc["jobs"][1]["id"], "field": "name"}


def test_unknown_adaptor_is_pointed_at_its_job(client, user, project) -> None:
    builder = Builder(client, user, project)
    doc = document(jobs=["a"])
    doc["jobs"][0]["adaptor"] = "@openfn/language-common@not a version!"
    answer = builder.save(doc)
    assert answer.status_code == 422
    (problem,) = answer.json()["errors"]
    assert problem["target"]["kind"] == "job" and problem["target"]["id"] == doc["jobs"][0]["id"]


def test_compile_errors_come_back_as_warnings_at_their_line(client, user, project) -> None:
    builder = Builder(client, user, project)
    doc = document(jobs={"ok": "fn(s => s);", "broken": "fn(s => s);\nfn(s => {\n"})
    answer = builder.save(doc)
    assert answer.status_code == 201  # saving a job that does not compile is allowed
    (warning,) = answer.json()["compile"]
    assert warning["job_id"] == doc["jobs"][1]["id"]
    assert warning["line"] in (2, 3) and "SyntaxError" in warning["message"]


def test_viewers_and_strangers_cannot_save_or_run(client, session, user, project) -> None:
    workflow = factories.make_workflow(session, project, jobs=["a"])
    viewer = factories.make_user(session)
    factories.add_member(session, project, viewer, Role.VIEWER)
    builder = Builder(client, viewer, project)
    doc = workflow.model_dump(mode="json")
    assert builder.save(doc, workflow.id).status_code == 403
    assert builder.save(document(jobs=["x"])).status_code == 403
    assert builder.run(workflow.id, body={"data": {}}).status_code == 403
    assert builder.page(workflow.id).status_code == 200
    assert builder.page().status_code == 403  # no new workflows either

    stranger = Builder(client, factories.make_user(session), project)
    assert stranger.save(doc, workflow.id).status_code == 404
    assert stranger.page(workflow.id).status_code == 404


def test_csrf_and_session_are_required(client, session, user, project) -> None:
    workflow = factories.make_workflow(session, project, jobs=["a"])
    builder = Builder(client, user, project)
    url = f"{builder.base}/workflows/{workflow.id}"
    body = {"document": workflow.model_dump(mode="json")}
    refused = client.put(url, json=body)
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    assert client.put(url, json=body, headers={"X-CSRF-Token": "0" * 64}).status_code == 403
    client.cookies.clear()
    assert client.put(url, json=body, headers=builder.headers).status_code in (401, 403)
    page = builder.page(workflow.id)
    assert page.status_code == 303 and page.headers["location"].startswith("/login?next=")


def test_webhook_auth_methods_are_set_by_admins_only(client, session, user, project) -> None:
    method = auth_methods.create_method(
        session,
        project.id,
        auth_methods.AuthMethodCreate(name="partner", auth_type="api"),
        user.id,
    )
    doc = document(jobs=["a"])
    trigger_id = doc["triggers"][0]["id"]
    owner = Builder(client, user, project)
    saved = owner.save(doc, trigger_auth={trigger_id: [str(method.id)]})
    assert saved.status_code == 201
    assert saved.json()["trigger_auth"] == {trigger_id: [str(method.id)]}

    editor = factories.make_user(session)
    factories.add_member(session, project, editor, Role.EDITOR)
    workflow = saved.json()["workflow"]
    edited = Builder(client, editor, project).save(
        workflow, workflow["id"], trigger_auth={trigger_id: []}
    )
    assert edited.status_code == 200
    assert edited.json()["trigger_auth"] == {trigger_id: [str(method.id)]}  # unchanged


def test_manual_run_from_the_builder(client, session, user, project) -> None:
    workflow = factories.make_workflow(session, project, jobs=["a", "b"])
    builder = Builder(client, user, project)
    started = builder.run(workflow.id, body={"data": {"n": 1}})
    assert started.status_code == 201, started.text
    run = session.get(Run, uuid.UUID(started.json()["run_id"]))
    assert run is not None and run.state == "available"
    assert started.json()["url"] == f"/projects/{project.id}/runs/{run.id}"
    again = builder.run(
        workflow.id, dataclip_id=str(run.dataclip_id), start_job_id=str(workflow.jobs[1].id)
    )
    assert again.status_code == 201
    assert builder.run(workflow.id).status_code == 422  # neither a body nor a dataclip
    assert builder.run(uuid.uuid4(), body={}).status_code == 404
