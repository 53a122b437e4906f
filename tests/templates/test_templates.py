"""Workflow templates: the gallery makes valid workflows, saving round-trips as code."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from lightning_flows.core.node_runtime import get_pool, installed_adaptor
from lightning_flows.provisioning.export import workflow_state
from lightning_flows.provisioning.state import spec_from_state
from lightning_flows.templates import service
from lightning_flows.workflows import service as workflows
from lightning_flows.workflows.schemas import WorkflowPublic
from tests import factories


def _from_template(
    client: TestClient, auth: dict[str, str], project_id: object, template_id: object, name: str
) -> dict:
    answer = client.post(
        f"/api/projects/{project_id}/workflows/from_template",
        json={"template_id": str(template_id), "name": name},
        headers=auth,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def _spec(public: WorkflowPublic) -> dict:
    """The workflow's spec without its name (what a template must carry over)."""
    spec = spec_from_state({"name": "p", "workflows": {"w": workflow_state(public)}})
    workflow = spec["workflows"]["w"]
    workflow.pop("name")
    return workflow


def test_the_gallery_offers_five_starting_points(client: TestClient, auth: dict[str, str]) -> None:
    listed = client.get("/api/templates", headers=auth).json()
    builtin = [t for t in listed if t["scope"] == "builtin"]
    assert len(builtin) >= 5
    names = {t["name"] for t in builtin}
    assert {
        "Webhook to FHIR Patient",
        "Validate and branch",
        "Map codes with a collection",
    } <= names
    assert all(t["steps"] and t["trigger"] in ("webhook", "cron") for t in builtin)


@pytest.mark.parametrize("template", service.builtin_templates(), ids=lambda t: t.name)
def test_each_gallery_template_creates_a_valid_workflow(
    client: TestClient, session: Session, auth: dict[str, str], project: factories.Project, template
) -> None:
    created = _from_template(client, auth, project.id, template.id, f"From {template.name}")
    workflow = workflows.get_workflow(session, project.id, uuid.UUID(created["id"]))
    public = workflows.to_public(session, workflow)
    assert public.name == f"From {template.name}"
    assert [j.name for j in public.jobs] and public.triggers
    for job in public.jobs:  # every job compiles with its (bundled) adaptor
        result = get_pool().compile(job.body, installed_adaptor(job.adaptor))
        assert result.ok, (job.name, result.error_message)


def test_save_as_template_and_back_is_the_same_spec(
    client: TestClient, session: Session, auth: dict[str, str], project: factories.Project
) -> None:
    branch = next(t for t in service.builtin_templates() if t.name == "Validate and branch")
    original = _from_template(client, auth, project.id, branch.id, "Intake checks")
    saved = client.post(
        f"/api/projects/{project.id}/templates",
        json={"workflow_id": original["id"], "name": "Our intake checks", "description": "d"},
        headers=auth,
    )
    assert saved.status_code == 201, saved.text
    assert saved.json()["scope"] == "project"
    assert original["id"] not in saved.json()["spec"]  # no ids: a template is any project's
    copy = _from_template(client, auth, project.id, saved.json()["id"], "Intake checks 2")

    def public(workflow_id: str) -> WorkflowPublic:
        workflow = workflows.get_workflow(session, project.id, uuid.UUID(workflow_id))
        return workflows.to_public(session, workflow)

    assert _spec(public(copy["id"])) == _spec(public(original["id"]))
    again = service.template_spec(public(copy["id"]), "Our intake checks", "d")
    assert again == saved.json()["spec"]  # byte-stable: templates round-trip as code

    listed = client.get("/api/templates", params={"project_id": str(project.id)}, headers=auth)
    assert "Our intake checks" in [t["name"] for t in listed.json()]
    elsewhere = factories.make_project(session, owner=factories.make_user(session))
    other_auth = factories.auth_headers(
        session, session.get(factories.User, elsewhere_owner(session, elsewhere))
    )
    hidden = client.post(
        f"/api/projects/{elsewhere.id}/workflows/from_template",
        json={"template_id": saved.json()["id"], "name": "stolen"},
        headers=other_auth,
    )
    assert hidden.status_code == 404


def elsewhere_owner(session: Session, project: factories.Project):
    from sqlmodel import select

    from lightning_flows.projects.models import ProjectUser

    return session.exec(
        select(ProjectUser.user_id).where(ProjectUser.project_id == project.id)
    ).one()


def test_instance_templates_are_for_superusers(
    client: TestClient, session: Session, auth: dict[str, str], project: factories.Project
) -> None:
    wf = factories.make_workflow(session, project, jobs=["a"])
    body = {"workflow_id": str(wf.id), "name": "Shared", "scope": "instance"}
    refused = client.post(f"/api/projects/{project.id}/templates", json=body, headers=auth)
    assert refused.status_code == 403
    admin = factories.make_user(session, superuser=True)
    admin_auth = factories.auth_headers(session, admin)
    made = client.post(f"/api/projects/{project.id}/templates", json=body, headers=admin_auth)
    assert made.status_code == 201 and made.json()["scope"] == "instance"
    # offered to every project, deleted only by a superuser
    stranger = factories.make_user(session)
    stranger_auth = factories.auth_headers(session, stranger)
    assert "Shared" in [
        t["name"] for t in client.get("/api/templates", headers=stranger_auth).json()
    ]
    template_id = made.json()["id"]
    assert client.delete(f"/api/templates/{template_id}", headers=auth).status_code == 403
    assert client.delete(f"/api/templates/{template_id}", headers=admin_auth).status_code == 204


def test_a_name_already_taken_is_refused(
    client: TestClient, auth: dict[str, str], project: factories.Project
) -> None:
    template = service.builtin_templates()[0]
    _from_template(client, auth, project.id, template.id, "Same")
    again = client.post(
        f"/api/projects/{project.id}/workflows/from_template",
        json={"template_id": str(template.id), "name": "Same"},
        headers=auth,
    )
    assert again.status_code in (409, 422), again.text
