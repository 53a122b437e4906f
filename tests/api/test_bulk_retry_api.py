"""Bulk retries over HTTP: by ids and by filter, from the start or a job, idempotent
re-submission, wiped inputs skipped with their reason, progress, roles and bad bodies."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from lightning_flows.core.timeutil import utcnow
from lightning_flows.projects.models import Role
from lightning_flows.runs.models import Dataclip, Run, WorkOrder
from tests import factories
from tests.runs.test_queries import save
from tests.support.work_orders import failed_work_orders as _failed
from tests.support.work_orders import many_failed_work_orders
from tests.support.work_orders import runs_of as _runs


@pytest.fixture
def workflow(session: Session, project) -> factories.WorkflowPublic:
    return factories.make_workflow(session, project, jobs=["fetch", "load"])


def _retry(client: TestClient, auth: dict, project, body: dict) -> dict:
    url = f"/api/projects/{project.id}/work_orders/retry"
    answer = client.post(url, json=body, headers=auth)
    assert answer.status_code == 202, answer.text
    return answer.json()


def _progress(client: TestClient, auth: dict, project, batch_id: str) -> dict:
    answer = client.get(f"/api/projects/{project.id}/retry_batches/{batch_id}", headers=auth)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_retry_by_ids_from_the_start_queues_one_new_run_each_on_the_latest_version(
    client: TestClient, auth: dict, session: Session, project, workflow
) -> None:
    ids = _failed(session, workflow, 3)
    accepted = _retry(
        client, auth, project, {"work_order_ids": [str(i) for i in ids[:2]], "from": "start"}
    )
    assert accepted["total"] == 2
    progress = _progress(client, auth, project, accepted["id"])
    assert progress | {"done": 0} == progress
    assert (progress["total"], progress["queued"], progress["skipped"], progress["done"]) == (
        2,
        2,
        0,
        0,
    )
    assert progress["state"] == "running"
    for wo in ids[:2]:
        first, again = _runs(session, wo)
        assert again.state == "available" and again.starting_trigger_id == workflow.triggers[0].id
        assert again.dataclip_id == first.dataclip_id
        assert session.get(WorkOrder, wo).state == "pending"
    assert len(_runs(session, ids[2])) == 1


def test_retry_by_filter_from_a_job_uses_that_steps_input(
    client: TestClient, auth: dict, session: Session, project, workflow
) -> None:
    failed = _failed(session, workflow, 2)
    crashed = _failed(session, workflow, 1, state="crashed")
    load = workflow.jobs[1]
    accepted = _retry(
        client, auth, project, {"filter": {"status": ["failed"]}, "from": str(load.id)}
    )
    assert accepted["total"] == 2
    for wo in failed:
        _first, again = _runs(session, wo)
        assert again.starting_job_id == load.id and again.starting_trigger_id is None
        middle = session.exec(select(Dataclip).where(col(Dataclip.id) == again.dataclip_id)).one()
        assert middle.body["data"]["fetched"] is True
    assert len(_runs(session, crashed[0])) == 1


def test_resubmitting_does_not_double_runs(
    client: TestClient, auth: dict, session: Session, project, workflow
) -> None:
    ids = [str(i) for i in _failed(session, workflow, 3)]
    body = {"work_order_ids": ids, "request_id": "fix-2024-03-01"}
    first = _retry(client, auth, project, body)
    again = _retry(client, auth, project, body)
    assert again == first
    keyed = _retry(client, auth | {"Idempotency-Key": "k1"}, project, {"work_order_ids": ids})
    assert keyed["id"] != first["id"]
    assert (
        _retry(client, auth | {"Idempotency-Key": "k1"}, project, {"work_order_ids": ids}) == keyed
    )
    # Without a key: the first batch's runs have not finished, so nothing is queued twice.
    progress = _progress(client, auth, project, keyed["id"])
    assert (progress["queued"], progress["skipped"]) == (0, 3)
    assert progress["skipped_reasons"] == {"in_progress": 3}
    assert all(len(_runs(session, uuid.UUID(i))) == 2 for i in ids)


def test_work_orders_waiting_in_an_unfinished_batch_are_skipped(
    session: Session, project, workflow, user
) -> None:
    from lightning_flows.runs import bulk_queue, bulk_retry
    from lightning_flows.runs.bulk_schemas import BulkRetryRequest

    ids = _failed(session, workflow, 4)
    request = BulkRetryRequest(work_order_ids=ids)
    first = bulk_retry.submit(session, project.id, request, user_id=user.id)
    second = bulk_retry.submit(session, project.id, request, user_id=user.id)
    assert (second.total, second.skipped, second.skipped_reasons) == (4, 4, {"already_in_batch": 4})
    assert second.state == "queued"
    # Queued in chunks of 3, as a restarted process would resume it.
    with bulk_queue.session_scope() as s:
        assert bulk_queue.queue_chunk(s, first.id, size=3)
    assert bulk_queue.process(first.id, chunk=3)
    session.expire_all()
    progress = bulk_retry.progress(session, bulk_retry.get_batch(session, project.id, first.id))
    assert (progress.queued, progress.skipped, progress.pending) == (4, 0, 0)
    assert all(len(_runs(session, i)) == 2 for i in ids)


def test_wiped_inputs_are_skipped_with_the_reason(
    client: TestClient, auth: dict, session: Session, project, workflow
) -> None:
    ids = _failed(session, workflow, 3)
    clip = session.get(Dataclip, session.get(WorkOrder, ids[0]).dataclip_id)
    save(session, clip, body=None, wiped_at=utcnow())
    accepted = _retry(client, auth, project, {"work_order_ids": [str(i) for i in ids]})
    progress = _progress(client, auth, project, accepted["id"])
    assert (progress["total"], progress["queued"], progress["skipped"]) == (3, 2, 1)
    assert progress["skipped_reasons"] == {"input_wiped": 1}
    assert len(_runs(session, ids[0])) == 1


def test_progress_counts_finished_runs(
    client: TestClient, auth: dict, session: Session, project, workflow
) -> None:
    ids = _failed(session, workflow, 2)
    accepted = _retry(client, auth, project, {"work_order_ids": [str(i) for i in ids]})
    for state, wo in zip(("success", "failed"), ids, strict=True):
        save(session, _runs(session, wo)[-1], state=state, finished_at=utcnow())
    progress = _progress(client, auth, project, accepted["id"])
    assert (progress["done"], progress["succeeded"], progress["failed"]) == (2, 1, 1)
    assert progress["state"] == "finished"


def test_roles_unknown_projects_and_bad_bodies(
    client: TestClient, auth: dict, session: Session, project, workflow
) -> None:
    ids = [str(i) for i in _failed(session, workflow, 1)]
    viewer = factories.make_user(session)
    factories.add_member(session, project, viewer, Role.VIEWER)
    as_viewer = factories.auth_headers(session, viewer)
    url = f"/api/projects/{project.id}/work_orders/retry"
    assert client.post(url, json={"work_order_ids": ids}, headers=as_viewer).status_code == 403
    accepted = _retry(client, auth, project, {"work_order_ids": ids})
    batch_url = f"/api/projects/{project.id}/retry_batches/{accepted['id']}"
    assert client.get(batch_url, headers=as_viewer).status_code == 200
    missing = f"/api/projects/{uuid.uuid4()}/work_orders/retry"
    assert client.post(missing, json={"work_order_ids": ids}, headers=auth).status_code == 404
    other = factories.make_project(session, owner=factories.make_user(session))
    assert (
        client.get(
            f"/api/projects/{other.id}/retry_batches/{accepted['id']}", headers=auth
        ).status_code
        == 404
    )
    assert (
        client.get(
            f"/api/projects/{project.id}/retry_batches/{uuid.uuid4()}", headers=auth
        ).status_code
        == 404
    )
    for body, words in [
        ({}, "either"),
        ({"work_order_ids": ids, "filter": {}}, "either"),
        ({"work_order_ids": []}, "empty"),
        ({"work_order_ids": [str(uuid.uuid4())]}, "not found"),
        ({"work_order_ids": ids, "from": "middle"}, "from"),
        ({"work_order_ids": ids, "from": str(uuid.uuid4())}, "not a job"),
        ({"filter": {"status": ["broken"]}}, "status"),
        ({"filter": {"colour": "red"}}, "colour"),
        ({"work_order_ids": ["nope"]}, "work_order_ids"),
    ]:
        answer = client.post(url, json=body, headers=auth)
        assert answer.status_code == 422, (body, answer.text)
        assert words in answer.text, (body, answer.text)


@pytest.mark.slow
def test_a_thousand_work_orders_by_filter_with_progress_and_idempotency(
    client: TestClient, auth: dict, session: Session, project, workflow
) -> None:
    ids = many_failed_work_orders(session, workflow, 1000)
    body = {"filter": {"status": ["failed"]}, "from": "start", "request_id": "fix-of-monday"}
    accepted = _retry(client, auth, project, body)
    assert accepted["total"] == 1000
    progress = _progress(client, auth, project, accepted["id"])
    assert (progress["queued"], progress["skipped"], progress["done"]) == (1000, 0, 0)
    assert progress["state"] == "running"

    assert _retry(client, auth, project, body) == accepted, "the same request, the same batch"
    again = _retry(client, auth, project, {"work_order_ids": [str(i) for i in ids]})
    assert _progress(client, auth, project, again["id"])["skipped_reasons"] == {"in_progress": 1000}
    session.expire_all()
    runs = session.exec(select(Run.work_order_id).where(col(Run.work_order_id).in_(ids))).all()
    assert len(runs) == 2000, "one new run per work order, never two"
