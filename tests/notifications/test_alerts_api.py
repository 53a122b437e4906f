"""`/api/projects/{id}/alerts`: each member's own failure alerts and digest."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from lightning_flows.projects.models import Role
from tests import factories


def test_members_read_and_change_their_own_settings(
    client: TestClient, session, auth, project
) -> None:
    url = f"/api/projects/{project.id}/alerts"
    assert client.get(url, headers=auth).json() == {
        "enabled": True,
        "workflow_ids": None,
        "digest": "weekly",
    }
    workflow = factories.make_workflow(session, project)
    changed = client.put(
        url, json={"workflow_ids": [str(workflow.id)], "digest": "daily"}, headers=auth
    )
    assert changed.status_code == 200
    assert changed.json() == {
        "enabled": True,
        "workflow_ids": [str(workflow.id)],
        "digest": "daily",
    }
    back = client.put(url, json={"workflow_ids": None}, headers=auth).json()
    assert back == {"enabled": True, "workflow_ids": None, "digest": "daily"}
    other = factories.make_user(session)
    factories.add_member(session, project, other, Role.VIEWER)
    assert (
        client.get(url, headers=factories.auth_headers(session, other)).json()["digest"] == "weekly"
    )


def test_bad_settings_are_refused_with_the_field_named(
    client: TestClient, session, auth, project
) -> None:
    url = f"/api/projects/{project.id}/alerts"
    elsewhere = factories.make_workflow(session, factories.make_project(session))
    for ids in ([str(uuid.uuid4())], [str(elsewhere.id)]):
        answer = client.put(url, json={"workflow_ids": ids}, headers=auth)
        assert answer.status_code == 422
        assert (
            answer.json()["detail"] == f"workflow_ids: {ids[0]} is not a workflow of this project."
        )
    empty = client.put(url, json={"workflow_ids": []}, headers=auth)
    assert empty.status_code == 422 and "null for the whole project" in empty.json()["detail"]
    assert client.put(url, json={"digest": "hourly"}, headers=auth).status_code == 422
    assert client.put(url, json={"enabeld": True}, headers=auth).status_code == 422
    assert client.put(url, json={"workflow_ids": ["nope"]}, headers=auth).status_code == 422


def test_non_members_cannot_see_or_change_alerts(client: TestClient, session, project) -> None:
    stranger = factories.auth_headers(session, factories.make_user(session))
    url = f"/api/projects/{project.id}/alerts"
    assert client.get(url, headers=stranger).status_code == 404
    assert client.put(url, json={"enabled": False}, headers=stranger).status_code == 404
    hook = f"/api/projects/{project.id}/alert_webhook"
    assert (
        client.put(hook, json={"url": "https://x.example.org"}, headers=stranger).status_code == 404
    )
