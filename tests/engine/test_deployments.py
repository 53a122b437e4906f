"""Each workflow has its own Prefect deployment, kept in step with every save."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prefect.exceptions import ObjectNotFound
from sqlmodel import Session

from lightning_flows.engine.deployments import on_workflow_changed
from lightning_flows.engine.prefect_api import prefect_client
from lightning_flows.workflows import events
from lightning_flows.workflows import service as workflows
from lightning_flows.workflows.models import Workflow
from lightning_flows.workflows.schemas import WorkflowDocument
from tests import factories

pytestmark = pytest.mark.slow


@pytest.fixture
def deployment_sync(prefect_server: str) -> Iterator[None]:
    events.subscribe(on_workflow_changed)
    yield
    events.unsubscribe(on_workflow_changed)


def test_deployment_follows_the_workflow(session: Session, project, deployment_sync) -> None:
    wf = factories.make_workflow(session, project, name="Register births")
    deployment_id = session.get(Workflow, wf.id).prefect_deployment_id
    deployment = prefect_client().read_deployment(deployment_id)
    assert deployment.name == f"{project.name} :: Register births"
    assert deployment.parameters == {"workflow_id": str(wf.id)}
    assert f"workflow:{wf.id}" in deployment.tags and not deployment.paused

    doc = WorkflowDocument.model_validate(
        {
            **wf.model_dump(exclude={"lock_version"}),
            "triggers": [{**wf.triggers[0].model_dump(), "enabled": False}],
        }
    )
    workflows.update_workflow(session, project.id, wf.id, doc, actor_id=None)
    assert prefect_client().read_deployment(deployment_id).paused, "no enabled trigger: paused"

    doc = WorkflowDocument.model_validate({**doc.model_dump(), "name": "Register all births"})
    workflows.update_workflow(session, project.id, wf.id, doc, actor_id=None)
    session.expire_all()
    renamed_id = session.get(Workflow, wf.id).prefect_deployment_id
    assert prefect_client().read_deployment(renamed_id).name.endswith(":: Register all births")
    with pytest.raises(ObjectNotFound):
        prefect_client().read_deployment(deployment_id)

    workflows.delete_workflow(session, project.id, wf.id, actor_id=None)
    with pytest.raises(ObjectNotFound):
        prefect_client().read_deployment(renamed_id)


def test_prefect_being_down_does_not_lose_the_save(session: Session, project, monkeypatch) -> None:
    def down(_event: events.WorkflowChanged) -> None:
        raise ConnectionError("Prefect is unreachable")

    events.subscribe(down)
    try:
        wf = factories.make_workflow(session, project)
    finally:
        events.unsubscribe(down)
    assert session.get(Workflow, wf.id) is not None
