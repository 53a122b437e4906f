"""Each workflow has its own Prefect deployment, published after every committed save,
in the background, and made again when Prefect lost it."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from prefect.exceptions import ObjectNotFound
from sqlmodel import Session

from lightning_flows.core.db import session_scope
from lightning_flows.engine.prefect import deployment_publisher, deployments, dispatch
from lightning_flows.engine.prefect.client import prefect_client
from lightning_flows.engine.prefect.deployment_publisher import DeploymentPublisher
from lightning_flows.engine.prefect.deployments import ensure_deployment, publish_deployment
from lightning_flows.engine.prefect.flow import FLOW_NAME
from lightning_flows.runs.models import Run
from lightning_flows.runs.queue import claim_runs
from lightning_flows.workflows import events
from lightning_flows.workflows import service as workflows
from lightning_flows.workflows.models import Workflow
from lightning_flows.workflows.schemas import WorkflowDocument
from tests import factories

pytestmark = pytest.mark.slow


@pytest.fixture
def publisher(prefect_server: str) -> Iterator[DeploymentPublisher]:
    """The process's publisher, subscribed to workflow changes for the test."""
    deployment_publisher.enable()
    publisher = deployment_publisher.get_publisher()
    yield publisher
    deployment_publisher.disable()
    assert publisher.flush(30), "the publisher did not finish"


def _stored_deployment(session: Session, workflow_id: uuid.UUID) -> uuid.UUID | None:
    session.expire_all()
    workflow = session.get(Workflow, workflow_id)
    assert workflow is not None
    return workflow.prefect_deployment_id


def test_deployment_follows_the_workflow(session: Session, project, publisher) -> None:
    wf = factories.make_workflow(session, project, name="Register births")
    assert publisher.flush(30)
    deployment_id = _stored_deployment(session, wf.id)
    assert deployment_id is not None
    deployment = prefect_client().read_deployment(deployment_id)
    assert deployment.name == f"{project.name} :: Register births"
    assert deployment.parameters == {"workflow_id": str(wf.id)}
    assert f"workflow:{wf.id}" in deployment.tags and not deployment.paused
    assert deployment.work_pool_name == "lightning-flows"
    assert prefect_client().read_work_pool("lightning-flows").type == "process"

    doc = WorkflowDocument.model_validate(
        {
            **wf.model_dump(exclude={"lock_version"}),
            "triggers": [{**wf.triggers[0].model_dump(), "enabled": False}],
        }
    )
    workflows.update_workflow(session, project.id, wf.id, doc, actor_id=None)
    assert publisher.flush(30)
    assert prefect_client().read_deployment(deployment_id).paused, "no enabled trigger: paused"

    doc = WorkflowDocument.model_validate({**doc.model_dump(), "name": "Register all births"})
    workflows.update_workflow(session, project.id, wf.id, doc, actor_id=None)
    assert publisher.flush(30)
    renamed_id = _stored_deployment(session, wf.id)
    assert renamed_id is not None and renamed_id != deployment_id
    assert prefect_client().read_deployment(renamed_id).name.endswith(":: Register all births")
    with pytest.raises(ObjectNotFound):
        prefect_client().read_deployment(deployment_id)

    workflows.delete_workflow(session, project.id, wf.id, actor_id=None)
    assert publisher.flush(30)
    with pytest.raises(ObjectNotFound):
        prefect_client().read_deployment(renamed_id)
    assert _stored_deployment(session, wf.id) is None


def test_a_save_never_waits_for_prefect(session: Session, project) -> None:
    release, calls = threading.Event(), []

    def slow_prefect(workflow_id: uuid.UUID) -> None:
        calls.append(workflow_id)
        release.wait(30)

    publisher = DeploymentPublisher(slow_prefect)
    events.subscribe(listener := lambda event: publisher.submit(event.workflow_id))
    try:
        started = time.monotonic()
        wf = factories.make_workflow(session, project)
        for i in range(5):  # saved again while the first publish is in progress
            doc = WorkflowDocument.model_validate({**wf.model_dump(), "name": f"v{i}"})
            wf = workflows.update_workflow(session, project.id, wf.id, doc, actor_id=None)
        assert time.monotonic() - started < 10
        assert not publisher.flush(0.2), "Prefect is still busy"
        release.set()
        assert publisher.flush(10)
    finally:
        events.unsubscribe(listener)
        release.set()
        publisher.stop()
    assert calls[0] == wf.id and 2 <= len(calls) <= 3, "coalesced, and the last save is published"


def test_the_publisher_retries_until_prefect_is_back() -> None:
    workflow_id, other = uuid.uuid4(), uuid.uuid4()
    calls: list[uuid.UUID] = []

    def prefect(wid: uuid.UUID) -> None:
        calls.append(wid)
        if wid == workflow_id and calls.count(wid) <= 3:
            raise httpx.ConnectError("Prefect is down")

    publisher = DeploymentPublisher(prefect, first_backoff=0.05, max_backoff=0.2)
    try:
        publisher.submit(workflow_id)
        publisher.submit(other)  # not held up by the failing one
        assert publisher.flush(10)
    finally:
        publisher.stop()
    assert calls.count(workflow_id) == 4 and calls.count(other) == 1


def test_prefect_being_down_does_not_lose_the_save(session: Session, project) -> None:
    def down(_event: events.WorkflowChanged) -> None:
        raise ConnectionError("Prefect is unreachable")

    events.subscribe(down)
    try:
        wf = factories.make_workflow(session, project)
    finally:
        events.unsubscribe(down)
    assert session.get(Workflow, wf.id) is not None


def _claim(session: Session, wf, count: int = 2) -> list:
    for _ in range(count):
        factories.make_run(session, wf)
    with session_scope() as claiming:
        claimed = claim_runs(claiming, count, "test-worker")
    assert len(claimed) == count
    return claimed


def test_dispatch_recreates_a_deployment_deleted_by_hand(
    session: Session, project, prefect_server: str
) -> None:
    wf = factories.make_workflow(session, project, name="Deleted in Prefect")
    first = publish_deployment(wf.id)
    assert first is not None
    prefect_client().delete_deployment(first)

    created, failed = dispatch.create_flow_runs(_claim(session, wf))

    assert failed == [] and len(created) == 2
    healed = _stored_deployment(session, wf.id)
    assert healed is not None and healed != first
    for run_id, ref in created.items():
        flow_run = prefect_client().read_flow_run(ref.id)
        assert flow_run.deployment_id == healed
        assert session.get(Run, run_id).prefect_flow_run_id == ref.id  # type: ignore[union-attr]


def test_dispatch_creates_a_missing_deployment(
    session: Session, project, prefect_server: str
) -> None:
    wf = factories.make_workflow(session, project)
    assert _stored_deployment(session, wf.id) is None  # never published (sync was off)
    created, failed = dispatch.create_flow_runs(_claim(session, wf, 1))
    assert failed == [] and len(created) == 1
    assert _stored_deployment(session, wf.id) is not None


def test_prefect_losing_the_engine_flow_and_work_pool_is_repaired(
    session: Session, project, prefect_server: str, monkeypatch
) -> None:
    """A reset Prefect database has no flow of the cached id and no work pool."""
    wf = factories.make_workflow(session, project)
    assert publish_deployment(wf.id) is not None
    engine_flow = prefect_client().read_flow_by_name(FLOW_NAME).id

    monkeypatch.setattr(deployments, "_flow_id", uuid.uuid4())  # the flow alone is gone
    deployment_id = ensure_deployment(wf.id)
    assert deployment_id is not None
    assert prefect_client().read_deployment(deployment_id).flow_id == engine_flow

    monkeypatch.setattr(deployments, "_flow_id", uuid.uuid4())  # and the work pool
    monkeypatch.setattr(deployments, "work_pool_name", lambda: "lightning-flows-reset")
    deployments._work_pools.add("lightning-flows-reset")  # cached, but not in Prefect
    deployment_id = ensure_deployment(wf.id)
    assert deployment_id is not None
    deployment = prefect_client().read_deployment(deployment_id)
    assert deployment.flow_id == engine_flow == deployments.engine_flow_id()
    assert deployment.work_pool_name == "lightning-flows-reset"
    prefect_client().delete_deployment(deployment_id)
    prefect_client().delete_work_pool("lightning-flows-reset")
    deployments.forget_prefect_ids()


def test_dispatch_gives_runs_back_while_prefect_is_down(
    session: Session, project, prefect_server: str, monkeypatch
) -> None:
    wf = factories.make_workflow(session, project)
    claimed = _claim(session, wf)

    def down(*_args, **_kwargs):
        raise httpx.ConnectError("Prefect is down")

    monkeypatch.setattr(dispatch, "ensure_deployment", down)
    created, failed = dispatch.create_flow_runs(claimed)
    assert created == {} and sorted(failed) == sorted(c.run_id for c in claimed)

    assert publish_deployment(wf.id) is not None
    claimed = [
        dispatch.ClaimedRun(**{**c.__dict__, "deployment_id": _stored_deployment(session, wf.id)})
        for c in claimed
    ]
    monkeypatch.setattr(dispatch, "_create_for_deployment", down)
    created, failed = dispatch.create_flow_runs(claimed)
    assert created == {} and sorted(failed) == sorted(c.run_id for c in claimed)


def test_start_up_publishes_every_workflow(session: Session, project, publisher) -> None:
    live = factories.make_workflow(session, project)
    gone = factories.make_workflow(session, project)
    assert publisher.flush(30)
    gone_deployment = _stored_deployment(session, gone.id)
    with session_scope() as s:  # deleted while nothing listened
        row = s.get(Workflow, gone.id)
        assert row is not None
        from lightning_flows.core.timeutil import utcnow

        row.deleted_at = utcnow()
        s.add(row)
    for deployment_id in (_stored_deployment(session, live.id),):
        assert deployment_id is not None
        prefect_client().delete_deployment(deployment_id)  # as a Prefect reset would

    assert deployment_publisher.publish_all() == 2
    assert publisher.flush(30)

    assert prefect_client().read_deployment(_stored_deployment(session, live.id)).name
    assert _stored_deployment(session, gone.id) is None
    with pytest.raises(ObjectNotFound):
        prefect_client().read_deployment(gone_deployment)
