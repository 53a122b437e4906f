"""Big bodies in pages (issue 13): the inspector shows a few kilobytes of a 5 MB step
output, the dataclip page shows it in parts with a download link, never whole."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests import factories
from tests.runs.test_queries import add_dataclip, add_step, save
from tests.ui_extension.pages.test_runs import T0

MB = 1_000_000


@pytest.fixture
def big_run(session: Session, project: factories.Project) -> dict[str, object]:
    workflow = factories.make_workflow(session, project, jobs=["grow"])
    enqueued = factories.make_run(session, workflow, {"data": {"n": 1}})
    run = save(
        session, enqueued.run, state="success", started_at=T0, finished_at=T0 + timedelta(seconds=2)
    )
    big = add_dataclip(
        session, project.id, {"data": {"rows": ["r" * 100] * 50_000, "tail": "END-OF-BODY"}}
    )
    add_step(
        session,
        run,
        workflow.jobs[0].id,
        output=big,
        exit_reason="success",
        started_at=T0,
        finished_at=T0 + timedelta(seconds=1),
    )
    return {"run": run, "big": big}


def test_the_inspector_shows_a_preview_of_a_big_output(page: TestClient, project, big_run) -> None:
    started = time.monotonic()
    answer = page.get(f"/projects/{project.id}/runs/{big_run['run'].id}")
    assert answer.status_code == 200
    assert time.monotonic() - started < 5
    assert len(answer.content) < 200_000 and "END-OF-BODY" not in answer.text
    assert f"/projects/{project.id}/dataclips/{big_run['big'].id}?run=" in answer.text


def test_the_dataclip_page_pages_a_big_body_and_offers_a_download(
    page: TestClient, project, big_run
) -> None:
    base = f"/projects/{project.id}/dataclips/{big_run['big'].id}"
    first = page.get(base)
    assert first.status_code == 200 and len(first.content) < 2 * MB
    assert "Part 1 of 6" in first.text and "Next part" in first.text
    assert f'href="{base}/download"' in first.text
    last = page.get(f"{base}?part=6")
    assert "END-OF-BODY" in last.text and "Previous part" in last.text
    whole = page.get(f"{base}/download")
    assert whole.status_code == 200 and "attachment" in whole.headers["content-disposition"]
    assert json.loads(whole.content)["data"]["tail"] == "END-OF-BODY"
