"""The run inspector: timeline, each step's input/output/logs/error, Prefect links, retry."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from lightning_flows.runs.models import Run
from tests import factories
from tests.runs.test_queries import add_dataclip, add_log, add_step, save
from tests.ui_extension.pages.conftest import SignIn, post_form

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
FLOW_RUN = uuid.uuid4()
TASK_RUN = uuid.uuid4()


@pytest.fixture
def failed_run(session: Session, project: factories.Project) -> dict[str, object]:
    """A finished run: `fetch` succeeded with a large output, `load` failed."""
    workflow = factories.make_workflow(session, project, name="intake", jobs=["fetch", "load"])
    enqueued = factories.make_run(session, workflow, {"data": {"child": "Amina"}})
    run = save(
        session,
        enqueued.run,
        state="failed",
        error_type="fail",
        started_at=T0,
        finished_at=T0 + timedelta(seconds=4),
        prefect_flow_run_id=FLOW_RUN,
    )
    rows = ["r" * 50] * 400 + ["LAST-ROW"]  # the end of the body (JSONB reorders keys)
    big = add_dataclip(session, project.id, {"data": {"rows": rows}})
    fetch = add_step(
        session,
        run,
        workflow.jobs[0].id,
        input=session.get(type(big), run.dataclip_id),
        output=big,
        exit_reason="success",
        started_at=T0,
        finished_at=T0 + timedelta(seconds=1),
        prefect_task_run_id=TASK_RUN,
    )
    load = add_step(
        session,
        run,
        workflow.jobs[1].id,
        input=big,
        exit_reason="fail",
        error_type="TypeError",
        error_message="Cannot read properties of undefined (reading 'id')",
        started_at=T0 + timedelta(seconds=1),
        finished_at=T0 + timedelta(seconds=4),
    )
    add_log(session, run, "fetched 400 rows", step=fetch, timestamp=T0, level="info")
    add_log(session, run, "password is ***", step=load, timestamp=T0 + timedelta(seconds=2))
    return {"workflow": workflow, "run": run, "fetch": fetch, "load": load, "big": big}


def _url(project, failed_run, query: str = "") -> str:
    return f"/projects/{project.id}/runs/{failed_run['run'].id}{query}"


def test_inspector_shows_steps_with_input_output_logs_and_error(
    page: TestClient, project, failed_run
) -> None:
    html = page.get(_url(project, failed_run)).text
    assert 'id="run-state">failed<' in html
    assert html.index("1. fetch") < html.index("2. load")
    assert (
        "<strong>TypeError</strong>: Cannot read properties of undefined (reading &#39;id&#39;)"
        in html
    )
    assert "&#34;child&#34;: &#34;Amina&#34;" in html  # the first step's input, formatted
    assert "fetched 400 rows" in html and "password is ***" in html
    assert f'id="step-{failed_run["load"].id}"' in html
    assert "1.00 s" in html and "3.00 s" in html and "4.00 s" in html


def test_timeline_places_each_step_by_start_and_duration(
    page: TestClient, project, failed_run
) -> None:
    html = page.get(_url(project, failed_run)).text
    bars = re.findall(r'class="bar (\w+)" style="left: ([\d.]+)%; width: ([\d.]+)%"', html)
    assert bars == [("ok", "0.0", "25.0"), ("bad", "25.0", "75.0")]


def test_large_bodies_are_cut_with_a_link_to_all_of_it(
    page: TestClient, project, failed_run
) -> None:
    html = page.get(_url(project, failed_run)).text
    assert "LAST-ROW" not in html
    big = failed_run["big"]
    link = f"/projects/{project.id}/dataclips/{big.id}?run={failed_run['run'].id}"
    assert link in html and "Show all" in html
    full = page.get(link)
    assert full.status_code == 200 and "LAST-ROW" in full.text
    assert f'href="/projects/{project.id}/runs/{failed_run["run"].id}">Back to the run' in full.text


def test_prefect_links_use_the_prefect_ui_base(
    page: TestClient, project, failed_run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_API_URL", "http://prefect.example:4200/api")
    html = page.get(_url(project, failed_run)).text
    assert f'href="http://prefect.example:4200/runs/flow-run/{FLOW_RUN}"' in html
    assert f'href="http://prefect.example:4200/runs/task-run/{TASK_RUN}"' in html


def test_a_step_can_be_selected_by_url(page: TestClient, project, failed_run) -> None:
    fetch = failed_run["fetch"]
    html = page.get(_url(project, failed_run, f"?step={fetch.id}")).text
    assert f'class="step selected" id="step-{fetch.id}"' in html
    share = f"{_url(project, failed_run)}?step={failed_run['load'].id}#step-{failed_run['load'].id}"
    assert f'href="{share}" class="step-link">Link to this step\'s error' in html


def test_retry_from_a_step_starts_a_new_run_from_its_job(
    page: TestClient, session: Session, project, failed_run
) -> None:
    load = failed_run["load"]
    html = page.get(_url(project, failed_run)).text
    assert html.count('class="retry-button"') == 2
    response = post_form(
        page,
        _url(project, failed_run, "/retry"),
        {"step_id": str(load.id)},
        csrf_page=_url(project, failed_run),
    )
    assert response.status_code == 303
    run = failed_run["run"]
    new = session.exec(
        select(Run).where(col(Run.work_order_id) == run.work_order_id, col(Run.id) != run.id)
    ).one()
    assert response.headers["location"] == f"/projects/{project.id}/runs/{new.id}"
    assert (new.starting_job_id, new.dataclip_id, new.state) == (
        load.job_id,
        load.input_dataclip_id,
        "available",
    )
    inspector = page.get(response.headers["location"]).text
    assert 'http-equiv="refresh"' in inspector and "Runs of this work order" in inspector


def test_viewers_see_no_retry_and_cannot_post_it(
    sign_in_as: SignIn, session: Session, project, failed_run, viewer
) -> None:
    client = sign_in_as(viewer)
    html = client.get(_url(project, failed_run)).text
    assert "Retry from this step" not in html and "fetched 400 rows" in html
    response = post_form(
        client, _url(project, failed_run, "/retry"), {"step_id": str(failed_run["load"].id)}
    )
    assert response.status_code == 403
    assert len(session.exec(select(Run)).all()) == 1


def test_retry_needs_a_csrf_token(page: TestClient, session: Session, project, failed_run) -> None:
    response = page.post(
        _url(project, failed_run, "/retry"),
        data={"step_id": str(failed_run["load"].id)},
        follow_redirects=False,
    )
    assert response.status_code == 403 and "CSRF" in response.text
    assert len(session.exec(select(Run)).all()) == 1


def test_runs_of_other_projects_are_not_found(
    page: TestClient, sign_in_as: SignIn, session: Session, project, failed_run, user
) -> None:
    mine = factories.make_project(session, owner=user)
    assert page.get(f"/projects/{mine.id}/runs/{failed_run['run'].id}").status_code == 404
    assert page.get(f"/projects/{mine.id}/dataclips/{failed_run['big'].id}").status_code == 404
    response = sign_in_as(factories.make_user(session)).get(_url(project, failed_run))
    assert response.status_code == 404 and "Run not found" in response.text
