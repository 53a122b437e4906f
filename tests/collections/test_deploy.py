"""Collections in project.yaml: a deploy creates them, jobs can use them at once."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from lightning_flows.collections import tokens
from tests.support.projects import provision_yaml

SPEC = """
name: lookups
collections:
  facility-codes:
    name: facility-codes
workflows: {}
"""


def test_deploy_creates_the_collections_a_spec_lists(
    client: TestClient, auth: dict[str, str]
) -> None:
    answer = provision_yaml(client, auth, SPEC)
    assert answer.status_code in (200, 201), answer.text
    project_id = uuid.UUID(answer.json()["data"]["id"])
    listed = client.get(f"/api/projects/{project_id}/collections", headers=auth).json()
    assert [c["name"] for c in listed] == ["facility-codes"]
    run = {"Authorization": f"Bearer {tokens.mint(project_id, uuid.uuid4(), 60)}"}
    put = client.put("/collections/facility-codes/F-1", json={"value": "1"}, headers=run)
    assert put.json() == {"upserted": 1, "error": None}
    exported = client.get("/api/provision/yaml", params={"id": str(project_id)}, headers=auth)
    assert "facility-codes" in exported.text


def test_a_name_jobs_could_not_use_is_refused(client: TestClient, auth: dict[str, str]) -> None:
    answer = provision_yaml(
        client, auth, SPEC.replace("name: facility-codes", "name: Facility Codes")
    )
    assert answer.status_code == 422
    assert "collections.facility-codes.name" in answer.text
