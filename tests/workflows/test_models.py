"""Database constraints of the workflow graph hold even when services are bypassed."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from lightning_flows.workflows.models import Edge, Job, Trigger, Workflow
from tests import factories


@pytest.fixture
def graph(session: Session, project) -> tuple[Workflow, Job, Job, Trigger]:
    wf = Workflow(project_id=project.id, name="wf")
    session.add(wf)
    session.flush()
    a, b = Job(workflow_id=wf.id, name="a"), Job(workflow_id=wf.id, name="b")
    trig = Trigger(workflow_id=wf.id, type="webhook")
    session.add_all([a, b, trig])
    session.commit()
    return wf, a, b, trig


def _insert_fails(session: Session, row: object) -> None:
    session.add(row)
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()


def test_job_names_are_unique_per_workflow(session: Session, graph) -> None:
    wf, *_ = graph
    _insert_fails(session, Job(workflow_id=wf.id, name="a"))


def test_workflow_names_unique_among_live_workflows(session: Session, graph, project) -> None:
    wf, *_ = graph
    _insert_fails(session, Workflow(project_id=project.id, name="wf"))
    from lightning_flows.core.timeutil import utcnow

    wf.deleted_at = utcnow()
    session.add(wf)
    session.commit()
    session.add(Workflow(project_id=project.id, name="wf"))
    session.commit()


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"source_job_id": "a", "source_trigger_id": "t"}, id="two-sources"),
        pytest.param({}, id="no-source"),
        pytest.param({"source_job_id": "b"}, id="self-loop"),
        pytest.param(
            {"source_job_id": "a", "condition_type": "js_expression"}, id="js-without-expression"
        ),
        pytest.param(
            {"source_trigger_id": "t", "condition_type": "on_job_success"}, id="trigger-on-success"
        ),
        pytest.param({"source_job_id": "a", "condition_type": "sometimes"}, id="unknown-condition"),
    ],
)
def test_invalid_edges_are_refused_by_the_database(session: Session, graph, fields) -> None:
    wf, a, b, trig = graph
    ids = {"a": a.id, "b": b.id, "t": trig.id}
    values = {k: ids.get(v, v) for k, v in fields.items()}
    _insert_fails(session, Edge(workflow_id=wf.id, target_job_id=b.id, **values))


def test_valid_edges_are_accepted(session: Session, graph) -> None:
    wf, a, b, trig = graph
    session.add(Edge(workflow_id=wf.id, source_trigger_id=trig.id, target_job_id=a.id))
    session.add(
        Edge(
            workflow_id=wf.id,
            source_job_id=a.id,
            target_job_id=b.id,
            condition_type="js_expression",
            condition_expression="state.data.ok",
        )
    )
    session.commit()


def test_cron_trigger_needs_expression_and_paths_are_unique(session: Session, graph) -> None:
    wf, *_ = graph
    _insert_fails(session, Trigger(workflow_id=wf.id, type="cron"))
    _insert_fails(session, Trigger(workflow_id=wf.id, type="email"))
    session.add(Trigger(workflow_id=wf.id, type="webhook", custom_path="intake"))
    session.commit()
    _insert_fails(session, Trigger(workflow_id=wf.id, type="webhook", custom_path="intake"))


def test_saving_writes_snapshot_and_version(session: Session, project) -> None:
    from sqlmodel import select

    from lightning_flows.workflows.models import WorkflowSnapshot, WorkflowVersion

    wf = factories.make_workflow(session, project, jobs=["a", "b", "c"])
    snaps = session.exec(
        select(WorkflowSnapshot).where(WorkflowSnapshot.workflow_id == wf.id)
    ).all()
    versions = session.exec(
        select(WorkflowVersion).where(WorkflowVersion.workflow_id == wf.id)
    ).all()
    assert len(snaps) == 1 and len(versions) == 1
    assert [j["name"] for j in snaps[0].document["jobs"]] == ["a", "b", "c"]
    assert versions[0].snapshot_id == snaps[0].id and len(versions[0].hash) == 12
    assert uuid.UUID(snaps[0].document["edges"][0]["id"])
