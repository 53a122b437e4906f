"""Workflows started from gallery templates run end to end on a real worker."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from lightning_flows.collections import items, service
from lightning_flows.runs.models import Dataclip
from lightning_flows.templates import service as templates
from lightning_flows.workflows import service as workflows
from tests import factories
from tests.support.collections_api import live_collections_api
from tests.support.runs import steps_of, wait_for_run

pytestmark = pytest.mark.slow


@pytest.fixture
def collections_api(monkeypatch: pytest.MonkeyPatch, database_url: str) -> Iterator[str]:
    with live_collections_api(monkeypatch) as url:
        yield url


def _template(name: str) -> templates.Template:
    return next(t for t in templates.builtin_templates() if t.name == name)


def _start(session: Session, project: factories.Project, name: str, workflow: str):
    public = templates.create_from_template(
        session,
        project.id,
        _template(name).id,
        workflow,
        actor_id=None,  # type: ignore[arg-type]
    )
    return workflows.to_public(session, workflows.get_workflow(session, project.id, public.id))


def test_validate_and_branch_takes_the_right_path(
    session: Session, project: factories.Project, worker
) -> None:
    wf = _start(session, project, "Validate and branch", "Intake")
    good = wait_for_run(session, factories.make_run(session, wf, {"id": 1, "name": "A"}).run.id)
    bad = wait_for_run(session, factories.make_run(session, wf, {"id": 2}).run.id)
    names = {str(j.id): j.name for j in wf.jobs}
    assert good.state == bad.state == "success"
    assert [names[str(s.job_id)] for s in steps_of(session, good.id)] == ["Validate", "Accept"]
    bad_steps = steps_of(session, bad.id)
    assert [names[str(s.job_id)] for s in bad_steps] == ["Validate", "Reject"]
    assert session.get(Dataclip, bad_steps[-1].output_dataclip_id).body["outcome"] == "rejected"


def test_collection_lookup_maps_codes_from_a_collection(
    client: TestClient, session: Session, project: factories.Project, collections_api: str, worker
) -> None:
    collection = service.create_collection(session, project.id, "code-mappings", None)
    items.put_many(
        session, collection, [("F-12", json.dumps({"name": "Clinic 12"}))], None, via="test"
    )
    wf = _start(session, project, "Map codes with a collection", "Facility lookup")
    run = wait_for_run(
        session, factories.make_run(session, wf, {"facility_code": "F-12", "id": 7}).run.id, 180
    )
    (step,) = steps_of(session, run.id)
    assert run.state == "success", step.error_message
    output = session.get(Dataclip, step.output_dataclip_id).body
    assert output["data"] == {"facility_code": "F-12", "id": 7, "facility": {"name": "Clinic 12"}}
