"""A job's automatic retries through the workflow API and project.yaml."""

from __future__ import annotations

import uuid

import yaml
from fastapi.testclient import TestClient

from tests.support.projects import provision_yaml

RETRIES = {"max_attempts": 3, "retry_delay_seconds": 5, "retry_backoff": 2.0, "retry_on_kill": True}


def _doc(**job_fields) -> dict:
    trig, job = str(uuid.uuid4()), str(uuid.uuid4())
    return {
        "name": "Flaky",
        "jobs": [{"id": job, "name": "Send", "body": "fn(s => s);", **job_fields}],
        "triggers": [{"id": trig, "type": "webhook"}],
        "edges": [{"source_trigger_id": trig, "target_job_id": job}],
    }


def test_retry_fields_round_trip_and_are_validated(client: TestClient, auth: dict, project) -> None:
    url = f"/api/projects/{project.id}/workflows"
    created = client.post(url, json=_doc(**RETRIES), headers=auth)
    assert created.status_code == 201, created.text
    job = created.json()["jobs"][0]
    assert {k: job[k] for k in RETRIES} == RETRIES
    plain = client.post(url, json={**_doc(), "name": "Plain"}, headers=auth).json()["jobs"][0]
    assert (plain["max_attempts"], plain["retry_on_kill"]) == (1, False)

    refused = client.post(url, json={**_doc(max_attempts=0), "name": "Bad"}, headers=auth)
    assert refused.status_code == 422
    assert "max_attempts" in refused.text


PROJECT_YAML = """
name: retries
workflows:
  flaky:
    name: flaky
    jobs:
      send:
        name: send
        adaptor: '@openfn/language-common@3.3.4'
        body: 'fn(s => s);'
        max_attempts: 3
        retry_delay_seconds: 5
        retry_backoff: 2
        retry_on_kill: true
      plain:
        name: plain
        adaptor: '@openfn/language-common@3.3.4'
        body: 'fn(s => s);'
    triggers:
      webhook:
        type: webhook
        enabled: true
    edges:
      webhook->send:
        source_trigger: webhook
        target_job: send
        condition_type: always
      send->plain:
        source_job: send
        target_job: plain
        condition_type: always
"""


def test_project_yaml_carries_retries_as_extension_fields(client: TestClient, auth: dict) -> None:
    created = provision_yaml(client, auth, PROJECT_YAML)
    assert created.status_code == 201, created.text
    exported = client.get(
        "/api/provision/yaml", params={"id": created.json()["data"]["id"]}, headers=auth
    )
    jobs = yaml.safe_load(exported.text)["workflows"]["flaky"]["jobs"]
    assert {k: jobs["send"][k] for k in RETRIES} == RETRIES
    assert not set(RETRIES) & set(jobs["plain"]), "defaults are left out: plain OpenFn specs"
