"""Saves that cannot be lost: of many saves made from one version, exactly one commits."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from lightning_flows.core.db import get_engine
from lightning_flows.core.errors import Conflict
from lightning_flows.workflows import service as workflows
from lightning_flows.workflows.models import Workflow, WorkflowSnapshot, WorkflowVersion
from lightning_flows.workflows.schemas import WorkflowDocument
from tests import factories


def _count(session: Session, model: Any, workflow_id: object) -> int:
    return int(
        session.exec(
            select(func.count()).select_from(model).where(col(model.workflow_id) == workflow_id)
        ).one()
    )


def test_twenty_concurrent_saves_from_one_version_give_one_200(
    client: TestClient, auth: dict[str, str], session: Session, project: Any
) -> None:
    doc = factories.workflow_doc(name="Register births", jobs=["fetch", "store"])
    created = client.post(
        f"/api/projects/{project.id}/workflows", json=doc.model_dump(mode="json"), headers=auth
    )
    assert created.status_code == 201, created.text
    body = created.json()
    url = f"/api/projects/{project.id}/workflows/{body['id']}"
    barrier = threading.Barrier(20)

    def save(i: int) -> Any:
        edited = {**body, "name": f"Register births {i}"}
        edited["jobs"] = [{**body["jobs"][0], "body": f"fn(s => ({{...s, i: {i}}}));"}]
        edited["edges"] = [e for e in body["edges"] if e["source_trigger_id"]]
        barrier.wait(timeout=30)
        return client.put(url, json=edited, headers=auth)

    with ThreadPoolExecutor(20) as pool:
        responses = list(pool.map(save, range(20)))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * 19, [r.text for r in responses if r.status_code >= 500]
    for refused in (r for r in responses if r.status_code == 409):
        detail = refused.json()["detail"]
        assert "saved by someone else" in detail and "reload" in detail
        assert "now version 2" in detail and "version 1" in detail
    winner = next(r.json() for r in responses if r.status_code == 200)
    assert winner["lock_version"] == 2
    session.expire_all()
    stored = session.get(Workflow, uuid.UUID(body["id"]))
    assert stored is not None and stored.lock_version == 2 and stored.name == winner["name"]
    assert _count(session, WorkflowSnapshot, stored.id) == 2, "one snapshot per commit"
    assert _count(session, WorkflowVersion, stored.id) == 2
    latest = workflows.latest_snapshot(session, stored.id)
    assert latest.lock_version == 2 and latest.name == winner["name"]

    # The refused clients reload and save again: that save goes through.
    fresh = client.get(url, headers=auth).json()
    again = client.put(url, json={**fresh, "name": "Register all births"}, headers=auth)
    assert again.status_code == 200 and again.json()["lock_version"] == 3


def test_a_save_from_a_stale_read_is_refused_without_the_client_version(
    session: Session, project: Any
) -> None:
    """Provisioning passes no lock_version: the version it read is the one checked."""
    wf = factories.make_workflow(session, project, name="Intake")
    with Session(get_engine(), expire_on_commit=False) as stale:
        read = stale.get(Workflow, wf.id)  # read at version 1 (and kept in its identity map)
        assert read is not None and read.lock_version == 1
        workflows.update_workflow(
            session,
            project.id,
            wf.id,
            WorkflowDocument.model_validate({**wf.model_dump(), "name": "Intake v2"}),
            actor_id=None,
        )
        doc = WorkflowDocument.model_validate(
            {**wf.model_dump(exclude={"lock_version"}), "name": "Intake v2b"}
        )
        with pytest.raises(Conflict, match="now version 2, you edited version 1"):
            workflows.stage_update(stale, project.id, wf.id, doc, actor_id=None)
    session.expire_all()
    assert session.get(Workflow, wf.id).name == "Intake v2"  # type: ignore[union-attr]
    assert _count(session, WorkflowSnapshot, wf.id) == 2
