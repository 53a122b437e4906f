"""The builder page and its helpers: bootstrap data, cron, adaptor docs, versions panel."""

from __future__ import annotations

import json
import re
from typing import Any

from lightning_flows.core.pagination import PageParams
from lightning_flows.projects.models import Role
from lightning_flows.runs.models import Dataclip, Step
from lightning_flows.workflows import versions
from tests import factories
from tests.ui_extension.builder.helpers import Builder

_DATA = re.compile(r'<script type="application/json" id="builder-data">(.*?)</script>', re.DOTALL)


def bootstrap(response: Any) -> dict[str, Any]:
    found = _DATA.search(response.text)
    assert found, response.text[:500]
    return json.loads(found.group(1))


def test_page_shows_controls_by_role(client, session, user, project) -> None:
    workflow = factories.make_workflow(session, project, jobs=["a"])
    owner_page = Builder(client, user, project).page(workflow.id)
    assert owner_page.status_code == 200
    assert 'id="save"' in owner_page.text and 'id="run-dialog"' in owner_page.text
    data = bootstrap(owner_page)
    assert data["permissions"] == {"edit": True, "run": True, "manage_auth": True}
    assert data["document"]["id"] == str(workflow.id)
    assert data["webhook_base"] == "http://testserver/i/"
    assert any(
        a["name"] == "@openfn/language-http" and "7.2.10" in a["versions"] for a in data["adaptors"]
    )

    viewer = factories.make_user(session)
    factories.add_member(session, project, viewer, Role.VIEWER)
    viewer_page = Builder(client, viewer, project).page(workflow.id, f"?s={workflow.jobs[0].id}")
    assert 'id="save"' not in viewer_page.text and 'id="add-step"' not in viewer_page.text
    assert 'id="run"' not in viewer_page.text
    data = bootstrap(viewer_page)
    assert data["permissions"] == {"edit": False, "run": False, "manage_auth": False}
    assert data["selected"] == str(workflow.jobs[0].id)


def test_new_workflow_page_starts_with_a_trigger_and_a_job(client, user, project) -> None:
    data = bootstrap(Builder(client, user, project).page())
    doc = data["document"]
    assert data["workflow_id"] is None
    assert [t["type"] for t in doc["triggers"]] == ["webhook"] and len(doc["jobs"]) == 1
    assert doc["edges"][0]["target_job_id"] == doc["jobs"][0]["id"]


def test_each_step_shows_its_last_input_and_output(client, session, user, project) -> None:
    workflow = factories.make_workflow(session, project, jobs=["a", "b"])
    enqueued = factories.make_run(session, workflow, {"data": {"case": "in"}})
    output = Dataclip(project_id=project.id, type="step_result", body={"data": {"case": "out"}})
    session.add(output)
    session.flush()
    session.add(
        Step(
            run_id=enqueued.run.id,
            job_id=workflow.jobs[0].id,
            exit_reason="success",
            input_dataclip_id=enqueued.work_order.dataclip_id,
            output_dataclip_id=output.id,
        )
    )
    session.commit()
    data = bootstrap(Builder(client, user, project).page(workflow.id))
    last = data["last_steps"][str(workflow.jobs[0].id)]
    assert '"case": "in"' in last["input"]["text"] and '"case": "out"' in last["output"]["text"]
    assert last["run_url"].startswith(f"/projects/{project.id}/runs/{enqueued.run.id}?step=")
    assert str(workflow.jobs[1].id) not in data["last_steps"]
    assert data["inputs"][0]["id"] == str(enqueued.work_order.dataclip_id)


def test_cron_description_and_next_runs(client, user, project) -> None:
    builder = Builder(client, user, project)
    answer = client.get(
        f"{builder.base}/cron", params={"expression": "30 6 * * 1-5", "timezone": "Africa/Nairobi"}
    ).json()
    assert answer["valid"] is True
    assert "06:30" in answer["description"] and "Monday through Friday" in answer["description"]
    assert len(answer["next"]) == 5 and all(t.endswith("+03:00") for t in answer["next"])
    bad = client.get(f"{builder.base}/cron", params={"expression": "every day"}).json()
    assert bad["valid"] is False


def test_adaptor_operations_fragment(client, user, project) -> None:
    builder = Builder(client, user, project)
    found = client.get(
        f"{builder.base}/adaptors/operations", params={"adaptor": "@openfn/language-common@latest"}
    )
    assert found.status_code == 200
    assert "@openfn/language-common@3.3.4" in found.text
    assert 'data-insert="fn()"' in found.text
    missing = client.get(f"{builder.base}/adaptors/operations", params={"adaptor": "not a name!"})
    assert "Cannot list the operations" in missing.text


def test_versions_panel_diff_and_restore(client, session, user, project) -> None:
    workflow = factories.make_workflow(session, project, jobs={"a": "fn(s => s);"})
    builder = Builder(client, user, project)
    doc = workflow.model_dump(mode="json")
    doc["jobs"][0]["body"] = "fn(s => ({ ...s, changed: true }));"
    assert builder.save(doc, workflow.id).status_code == 200
    base = f"{builder.base}/workflows/{workflow.id}/versions"
    listing = client.get(base)
    assert listing.status_code == 200 and listing.text.count('name="from"') == 2
    page = versions.list_versions(session, project.id, workflow.id, PageParams(page=1, page_size=5))
    newest, oldest = page.items
    diff = client.get(f"{base}/diff", params={"from": str(oldest.id), "to": str(newest.id)})
    assert "changed: true" in diff.text and "changed" in diff.text
    restored = client.post(f"{base}/{oldest.id}/restore", headers=builder.headers)
    assert restored.status_code == 204
    assert restored.headers["HX-Redirect"] == f"/projects/{project.id}/workflows/{workflow.id}"
    assert client.post(f"{base}/{oldest.id}/restore").status_code == 403  # CSRF

    viewer = factories.make_user(session)
    factories.add_member(session, project, viewer, Role.VIEWER)
    viewing = Builder(client, viewer, project)
    assert "Restore" not in client.get(base).text
    assert client.post(f"{base}/{oldest.id}/restore", headers=viewing.headers).status_code == 403


def test_history_links_open_the_versions_panel(client, session, user, project) -> None:
    workflow = factories.make_workflow(session, project, jobs=["a"])
    Builder(client, user, project)
    answer = client.get(
        f"/projects/{project.id}/w/{workflow.id}/history?to={workflow.id}", follow_redirects=False
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == (
        f"/projects/{project.id}/workflows/{workflow.id}?versions=1&to={workflow.id}"
    )
