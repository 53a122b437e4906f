"""Graph checks are iterative: a workflow up to the job limit saves, a bigger one is 422,
and a cycle deep in a long chain is still found (issue 13: 1,000 chained jobs was a
500 RecursionError)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from lightning_flows.core.config import get_settings
from lightning_flows.workflows.schemas import EdgeDoc
from tests import factories


def _chain(count: int) -> dict:
    return factories.workflow_doc(jobs=[f"j{i}" for i in range(count)]).model_dump(mode="json")


@pytest.fixture
def small_limit(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LIGHTNING_WORKFLOW_MAX_JOBS", "50")
    get_settings.cache_clear()
    yield 50
    monkeypatch.delenv("LIGHTNING_WORKFLOW_MAX_JOBS")
    get_settings.cache_clear()


def test_a_thousand_chained_jobs_save(client: TestClient, auth: dict, project) -> None:
    assert get_settings().workflow_max_jobs == 1000
    answer = client.post(f"/api/projects/{project.id}/workflows", json=_chain(1000), headers=auth)
    assert answer.status_code == 201, answer.text[:500]
    assert len(answer.json()["jobs"]) == 1000


def test_more_jobs_than_the_limit_is_422(
    client: TestClient, auth: dict, project, small_limit: int
) -> None:
    answer = client.post(f"/api/projects/{project.id}/workflows", json=_chain(51), headers=auth)
    assert answer.status_code == 422
    assert answer.json()["detail"] == (
        "Invalid workflow: jobs: 51 jobs; a workflow may have at most 50 "
        "(LIGHTNING_WORKFLOW_MAX_JOBS)"
    )
    ok = client.post(f"/api/projects/{project.id}/workflows", json=_chain(50), headers=auth)
    assert ok.status_code == 201


def test_a_cycle_at_the_end_of_a_long_chain_is_found(
    client: TestClient, auth: dict, project
) -> None:
    doc = factories.workflow_doc(jobs=[f"j{i}" for i in range(900)])
    doc.edges.append(
        EdgeDoc(
            source_job_id=doc.jobs[-1].id, target_job_id=doc.jobs[1].id, condition_type="always"
        )
    )
    doc.edges = [
        e
        for e in doc.edges
        if e.target_job_id != doc.jobs[1].id or e.source_job_id != doc.jobs[0].id
    ]
    answer = client.post(
        f"/api/projects/{project.id}/workflows", json=doc.model_dump(mode="json"), headers=auth
    )
    assert answer.status_code == 422
    assert "closes a cycle" in answer.json()["detail"]
