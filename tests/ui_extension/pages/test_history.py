"""The history page: grouping, filters from the query string, search, paging, access."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session
from starlette.datastructures import QueryParams

from lightning_flows.runs.states import WorkOrderState
from tests import factories
from tests.runs.test_queries import add_dataclip, add_log, add_step, save
from tests.ui_extension.pages.conftest import SignIn, alerts
from ui_extension.pages import history_filters

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def _shown(html: str) -> list[str]:
    """Ids of the work orders on the page, in order."""
    return re.findall(r'<li class="work-order" id="wo-([0-9a-f-]+)"', html)


@pytest.fixture
def orders(session: Session, project: factories.Project) -> dict[str, object]:
    """Four work orders over two workflows, one day apart (oldest first)."""
    intake = factories.make_workflow(session, project, name="intake", jobs=["fetch", "load"])
    sync = factories.make_workflow(session, project, name="sync", jobs=["push"])
    made: dict[str, object] = {"intake": intake, "sync": sync}
    specs = [
        ("ok", intake, "success", {"data": {"child": "Amina"}}),
        ("bad", intake, "failed", {"data": {"child": "Baraka"}}),
        ("other", sync, "success", {"data": {"farmer": "Chidi"}}),
        ("new", intake, "pending", {"data": {"child": "Dalia"}}),
    ]
    for day, (key, workflow, state, body) in enumerate(specs):
        enqueued = factories.make_run(session, workflow, body)
        at = T0 + timedelta(days=day)
        save(session, enqueued.work_order, state=state, inserted_at=at, last_activity=at)
        save(session, enqueued.run, state="available" if state == "pending" else state)
        made[key] = enqueued
    bad = made["bad"]
    step = add_step(session, bad.run, intake.jobs[1].id, exit_reason="fail", error_type="TypeError")
    add_log(session, bad.run, "registry refused record 7781", step=step)
    add_step(
        session,
        made["ok"].run,
        intake.jobs[0].id,
        exit_reason="success",
        output=add_dataclip(session, project.id, {"registered_as": "REG-0042"}),
    )
    return made


def _id(orders: dict[str, object], key: str) -> str:
    return str(orders[key].work_order.id)  # type: ignore[attr-defined]


def test_work_orders_newest_first_grouped_by_workflow(page: TestClient, project, orders) -> None:
    html = page.get(f"/projects/{project.id}/history").text
    assert _shown(html) == [_id(orders, k) for k in ("new", "bad", "ok", "other")]
    headings = re.findall(r'<h2 id="group-[^"]+">([^<]+)', html)
    assert [h.strip() for h in headings] == ["intake", "sync"]
    assert "<strong>4</strong> work orders" in html


def test_rows_expand_to_runs_and_steps_with_links(page: TestClient, project, orders) -> None:
    html = page.get(f"/projects/{project.id}/history").text
    bad = orders["bad"]
    assert f'href="/projects/{project.id}/runs/{bad.run.id}"' in html
    step_link = re.search(rf"runs/{bad.run.id}\?step=([0-9a-f-]+)#step-\1\">load</a>", html)
    assert step_link, "the failed step links to its place in the run inspector"
    assert "<details>" in html and "<summary>" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=failed", ["bad"]),
        ("status=success&status=pending", ["new", "ok", "other"]),
        ("status=rejected", []),
        ("since=2024-03-02&until=2024-03-03", ["other", "bad"]),
        ("until=2024-03-01", ["ok"]),
        ("last_activity_since=2024-03-04T00:00", ["new"]),
        ("search=baraka", ["bad"]),
        ("search=7781", ["bad"]),
        ("search=REG-0042", ["ok"]),
        ("search=Chidi&status=success", ["other"]),
    ],
)
def test_filters_and_search(page: TestClient, project, orders, query: str, expected) -> None:
    html = page.get(f"/projects/{project.id}/history?{query}").text
    assert _shown(html) == [_id(orders, k) for k in expected]


def test_workflow_filter_and_refilled_form(page: TestClient, project, orders) -> None:
    sync = orders["sync"]
    html = page.get(f"/projects/{project.id}/history?workflow_id={sync.id}&status=success").text
    assert _shown(html) == [_id(orders, "other")]
    assert f'<option value="{sync.id}" selected>' in html
    assert 'id="status-success" name="status" value="success" checked' in html
    share = re.search(r'href="([^"]+)" id="share-link"', html).group(1)
    assert share == f"/projects/{project.id}/history?status=success&amp;workflow_id={sync.id}"


def test_every_run_state_and_rejected_is_a_status_filter(page: TestClient, project) -> None:
    html = page.get(f"/projects/{project.id}/history").text
    for state in WorkOrderState:
        assert f'id="status-{state.value}"' in html
    assert 'id="status-rejected"' in html


def test_pagination_keeps_the_filters(page: TestClient, session, project, orders) -> None:
    html = page.get(f"/projects/{project.id}/history?page_size=2&status=success&status=failed").text
    assert len(_shown(html)) == 2
    assert "Page 1 of 2" in html
    assert "?status=success&amp;status=failed&amp;page_size=2&amp;page=2" in html
    second = page.get(
        f"/projects/{project.id}/history?status=success&status=failed&page_size=2&page=2"
    ).text
    assert _shown(second) == [_id(orders, "ok")]


def test_unusable_filters_are_named_and_ignored(page: TestClient, project, orders) -> None:
    response = page.get(f"/projects/{project.id}/history?status=broken&since=yesterday")
    assert response.status_code == 200
    messages = " ".join(alerts(response.text))
    assert "Unknown status 'broken'" in messages and "'yesterday' is not a date" in messages
    assert len(_shown(response.text)) == 4


def test_viewers_read_history_and_outsiders_do_not(
    sign_in_as: SignIn, session, project, orders, viewer
) -> None:
    assert len(_shown(sign_in_as(viewer).get(f"/projects/{project.id}/history").text)) == 4
    outsider = factories.make_user(session)
    assert sign_in_as(outsider).get(f"/projects/{project.id}/history").status_code == 404


def test_parse_time_bounds() -> None:
    assert history_filters.parse_time("2024-03-01", upper=True) == datetime(2024, 3, 2, tzinfo=UTC)
    assert history_filters.parse_time("2024-03-01T10:30", upper=True) == datetime(
        2024, 3, 1, 10, 30, tzinfo=UTC
    )
    assert history_filters.parse_time("2024-03-01T10:30+02:00", upper=False) == datetime(
        2024, 3, 1, 8, 30, tzinfo=UTC
    )
    query = history_filters.parse(QueryParams("until=2024-03-01&search=%20x%20&status=failed"))
    assert query.values == {"until": "2024-03-02T00:00", "search": "x"}
    assert query.items() == [("status", "failed"), ("until", "2024-03-02T00:00"), ("search", "x")]


def test_counting_stops_at_the_limit(
    page: TestClient, project, orders, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ui_extension.pages import history

    monkeypatch.setattr(history, "COUNT_LIMIT", 2)
    html = page.get(f"/projects/{project.id}/history?page_size=2").text
    assert "More than <strong>2</strong> work orders" in html and "Page 1<" in html
    assert "page_size=2&amp;page=2" in html
    second = page.get(f"/projects/{project.id}/history?page_size=2&page=2").text
    assert len(_shown(second)) == 2
    beyond = page.get(f"/projects/{project.id}/history?page_size=2&page=3")
    assert beyond.status_code == 200 and _shown(beyond.text) == []
    assert 'rel="prev"' in beyond.text and 'rel="next"' not in beyond.text
