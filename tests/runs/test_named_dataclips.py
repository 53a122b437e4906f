"""Naming a dataclip keeps it: PATCH name, search by name, retention passes it by."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session, col

from lightning_flows.core.timeutil import utcnow
from lightning_flows.maintenance.retention import apply_project_retention
from lightning_flows.projects.models import Project, Role
from lightning_flows.runs.models import Dataclip, WorkOrder
from tests import factories


def _clip(session: Session, project, body=None) -> uuid.UUID:
    workflow = factories.make_workflow(session, project)
    enqueued = factories.make_run(session, workflow, body or {"id": 5, "name": "Amina"})
    assert enqueued.work_order.dataclip_id is not None
    return enqueued.work_order.dataclip_id


def test_name_a_dataclip_then_find_it_by_name(client: TestClient, session, project, auth) -> None:
    clip_id = _clip(session, project)
    named = client.patch(
        f"/api/dataclips/{clip_id}", json={"name": "  order 5 fails  "}, headers=auth
    )
    assert named.status_code == 200, named.text
    assert named.json()["name"] == "order 5 fails"
    assert named.json()["body"] == {"id": 5, "name": "Amina"}

    _clip(session, project)  # an unnamed one is not listed
    found = client.get(
        f"/api/projects/{project.id}/dataclips", params={"name": "ORDER 5"}, headers=auth
    ).json()
    assert [c["name"] for c in found["items"]] == ["order 5 fails"]
    assert found["items"][0]["id"] == str(clip_id)
    none = client.get(f"/api/projects/{project.id}/dataclips?name=zzz", headers=auth).json()
    assert none["total"] == 0

    cleared = client.patch(f"/api/dataclips/{clip_id}", json={"name": ""}, headers=auth)
    assert cleared.json()["name"] is None
    assert client.get(f"/api/projects/{project.id}/dataclips", headers=auth).json()["total"] == 0


def test_bad_names_and_unknown_or_foreign_dataclips(
    client: TestClient, session, project, auth
) -> None:
    clip_id = _clip(session, project)
    too_long = client.patch(f"/api/dataclips/{clip_id}", json={"name": "x" * 256}, headers=auth)
    assert too_long.status_code == 422
    assert "255" in too_long.text

    unknown = client.patch(f"/api/dataclips/{uuid.uuid4()}", json={"name": "a"}, headers=auth)
    assert unknown.status_code == 404

    other_project = factories.make_project(session)  # the user is not a member
    foreign = _clip(session, other_project)
    answer = client.patch(f"/api/dataclips/{foreign}", json={"name": "mine"}, headers=auth)
    assert answer.status_code == 404
    assert answer.json()["detail"] == "Dataclip not found."

    second = _clip(session, project)
    assert client.patch(f"/api/dataclips/{clip_id}", json={"name": "dup"}, headers=auth).is_success
    taken = client.patch(f"/api/dataclips/{second}", json={"name": "dup"}, headers=auth)
    assert taken.status_code == 409
    assert "already named 'dup'" in taken.json()["detail"]


def test_a_viewer_cannot_name_a_dataclip(client: TestClient, session, project) -> None:
    clip_id = _clip(session, project)
    viewer = factories.make_user(session)
    factories.add_member(session, project, viewer, Role.VIEWER)
    answer = client.patch(
        f"/api/dataclips/{clip_id}",
        json={"name": "kept"},
        headers=factories.auth_headers(session, viewer),
    )
    assert answer.status_code == 403


def test_retention_keeps_named_dataclips(session: Session, project) -> None:
    kept, lost = _clip(session, project), _clip(session, project)
    wiped_only = _clip(session, project)
    session.execute(update(Dataclip).where(col(Dataclip.id) == kept).values(name="keep me"))
    then = utcnow() - timedelta(days=60)
    session.execute(
        update(Dataclip)
        .where(col(Dataclip.id).in_([kept, lost, wiped_only]))
        .values(inserted_at=then)
    )
    session.execute(update(WorkOrder).values(inserted_at=then, last_activity=then))
    row = session.get(Project, project.id)
    row.history_retention_days = 30
    session.add(row)
    session.commit()

    done = apply_project_retention(project.id, delete_flow_runs=lambda ids: 0)

    assert done.work_orders == 3
    session.expire_all()
    assert session.get(Dataclip, lost) is None
    survivor = session.get(Dataclip, kept)
    assert survivor is not None and survivor.body == {"id": 5, "name": "Amina"}
    assert survivor.wiped_at is None


def test_dataclip_retention_wipes_unnamed_bodies_but_not_named_ones(
    session: Session, project
) -> None:
    kept, wiped = _clip(session, project), _clip(session, project)
    session.execute(update(Dataclip).where(col(Dataclip.id) == kept).values(name="keep me"))
    then = utcnow() - timedelta(days=10)
    session.execute(
        update(Dataclip).where(col(Dataclip.id).in_([kept, wiped])).values(inserted_at=then)
    )
    row = session.get(Project, project.id)
    row.dataclip_retention_days = 7
    session.add(row)
    session.commit()

    apply_project_retention(project.id, delete_flow_runs=lambda ids: 0)

    session.expire_all()
    assert session.get(Dataclip, wiped).wiped_at is not None
    assert session.get(Dataclip, kept).wiped_at is None
    assert session.get(Dataclip, kept).body == {"id": 5, "name": "Amina"}
