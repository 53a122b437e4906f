"""History's bulk retry: selecting work orders (or all matching the filters), the
progress panel the page polls, what started each row, and who may retry."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests import factories
from tests.support.work_orders import failed_work_orders as _failed
from tests.support.work_orders import runs_of as _runs
from tests.ui_extension.pages.conftest import SignIn, alerts, post_form


@pytest.fixture
def workflow(session: Session, project) -> factories.WorkflowPublic:
    return factories.make_workflow(session, project, jobs=["fetch", "load"])


def _history(project) -> str:
    return f"/projects/{project.id}/history"


def test_retry_selected_work_orders_then_watch_the_progress(
    page: TestClient,
    session: Session,
    project,
    workflow,
) -> None:
    ids = _failed(session, workflow, 3)
    html = page.get(_history(project)).text
    assert html.count('class="select-wo"') == 3
    assert 'id="all-matching"' in html and "All 3 matching" in html
    assert re.search(r'class="started-by"[^>]*>webhook<', html)
    assert "/work_orders/export?format=csv" in html
    load = workflow.jobs[1]
    assert f'<option value="{load.id}">step {workflow.name}: load</option>' in html

    answer = post_form(
        page,
        f"{_history(project)}/retry",
        {"work_order_id": [str(i) for i in ids[:2]], "from": str(load.id)},
        csrf_page=_history(project),
    )
    assert answer.status_code == 303
    shown = page.get(answer.headers["location"])
    panel = re.search(r'<section id="retry-progress".*?</section>', shown.text, re.S).group(0)
    assert 'hx-get="/projects/' in panel and 'hx-trigger="every 1s"' in panel  # polled
    assert '<strong class="retry-queued">2</strong> queued' in panel
    assert [len(_runs(session, i)) for i in ids] == [2, 2, 1]
    assert re.search(r'class="started-by"[^>]*>bulk<', shown.text)
    batch_id = answer.headers["location"].rsplit("batch=", 1)[1]
    fragment = page.get(f"{_history(project)}/retries/{batch_id}").text
    assert fragment.startswith("<section") and "2</strong> queued" in fragment


def test_retry_all_matching_the_filters(
    page: TestClient,
    session: Session,
    project,
    workflow,
) -> None:
    failed = _failed(session, workflow, 2)
    crashed = _failed(session, workflow, 1, state="crashed")
    answer = post_form(
        page,
        f"{_history(project)}/retry",
        {"all_matching": "1", "status": "failed", "from": "start"},
        csrf_page=_history(project),
    )
    assert answer.status_code == 303 and "status=failed" in answer.headers["location"]
    assert [len(_runs(session, i)) for i in [*failed, *crashed]] == [2, 2, 1]


def test_nothing_selected_is_explained_and_viewers_cannot_retry(
    page: TestClient,
    sign_in_as: SignIn,
    session: Session,
    project,
    workflow,
) -> None:
    _failed(session, workflow, 1)
    empty = post_form(page, f"{_history(project)}/retry", {}, csrf_page=_history(project))
    assert empty.status_code == 422
    assert any("Select work orders" in a for a in alerts(empty.text))
    viewer = factories.make_user(session)
    factories.add_member(session, project, viewer, factories.Role.VIEWER)
    as_viewer = sign_in_as(viewer)
    html = as_viewer.get(_history(project)).text
    assert "select-wo" not in html and 'id="bulk-retry"' not in html
    refused = post_form(
        as_viewer, f"{_history(project)}/retry", {"all_matching": "1"}, csrf_page=_history(project)
    )
    assert refused.status_code == 403
