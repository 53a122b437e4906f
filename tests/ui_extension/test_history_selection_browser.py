"""In a real browser: select work orders in history, retry them, and watch the progress
panel (htmx polling) reach "finished" as their runs end."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, col, select

from lightning_flows.core.timeutil import utcnow
from lightning_flows.runs.models import Run
from tests import factories
from tests.runs.test_queries import save
from tests.support.work_orders import failed_work_orders as _failed
from tests.ui_extension.test_e2e import base_url, browser, open_page, sign_in  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_select_retry_and_watch_the_progress(open_page, session: Session) -> None:  # noqa: F811
    owner = factories.make_user(session)
    project = factories.make_project(session, owner=owner)
    workflow = factories.make_workflow(session, project, name="intake", jobs=["fetch", "load"])
    ids = _failed(session, workflow, 3)

    tab = open_page()
    sign_in(tab, owner)
    tab.goto(f"/projects/{project.id}/history?status=failed")
    tab.get_by_label("Select all on this page").check()
    assert tab.locator("#selected-count").inner_text() == "3 selected"
    tab.get_by_label("All 3 matching these filters").check()
    assert tab.locator("input.select-wo:disabled").count() == 3
    tab.get_by_label("All 3 matching these filters").uncheck()
    tab.get_by_label(f"Select work order {str(ids[0])[:8]}").uncheck()
    assert tab.locator("#selected-count").inner_text() == "2 selected"
    tab.get_by_label("Retry from").select_option(label="step intake: load")
    tab.get_by_role("button", name="Retry on the latest version").click()
    tab.wait_for_url(re.compile(r"batch="))
    # Queued in the background: the panel polls until both runs are queued.
    tab.locator("#retry-progress[data-state=running]").wait_for(timeout=15_000)
    assert "2 queued" in tab.locator("#retry-progress").inner_text()

    session.expire_all()
    new_runs = session.exec(
        select(Run).where(col(Run.work_order_id).in_(ids), col(Run.state) == "available")
    ).all()
    assert len(new_runs) == 2
    for run in new_runs:
        save(session, run, state="success", finished_at=utcnow())
    # No reload: the panel polls and swaps itself until the batch has finished.
    tab.locator("#retry-progress[data-state=finished]").wait_for(timeout=15_000)
    assert "2 done (2 succeeded" in tab.locator("#retry-progress").inner_text()
