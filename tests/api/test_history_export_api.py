"""Exporting the filtered history: CSV and JSON content, filters, dataclips and logs,
and 10,000 work orders streamed page by page in steady memory."""

from __future__ import annotations

import csv
import io
import tracemalloc
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, insert
from sqlmodel import Session

from lightning_flows.core.db import get_engine
from lightning_flows.core.timeutil import utcnow
from lightning_flows.projects.models import Role
from lightning_flows.runs import history_export, rows
from lightning_flows.runs.models import Dataclip, Run, WorkOrder
from lightning_flows.runs.schemas import WorkOrderFilters
from lightning_flows.workflows import service as workflows
from tests import factories
from tests.runs.test_queries import add_dataclip, add_log, add_step, save


@pytest.fixture
def workflow(session: Session, project) -> factories.WorkflowPublic:
    return factories.make_workflow(session, project, jobs=["fetch"])


def _export(client: TestClient, auth: dict, project, query: str) -> str:
    answer = client.get(f"/api/projects/{project.id}/work_orders/export?{query}", headers=auth)
    assert answer.status_code == 200, answer.text
    return answer.text


def test_csv_has_a_row_per_run_with_what_started_it_and_the_version(
    client: TestClient, auth: dict, session: Session, project, workflow
) -> None:
    ok = factories.make_run(session, workflow, {"data": {"name": "Ada"}})
    save(session, ok.run, state="success", finished_at=utcnow())
    save(session, ok.work_order, state="success")
    bad = factories.make_run(session, workflow, {"data": {"name": "Bob"}})
    save(session, bad.run, state="failed", error_type="TypeError", finished_at=utcnow())
    save(session, bad.work_order, state="failed")
    text = _export(client, auth, project, "format=csv")
    table = list(csv.DictReader(io.StringIO(text)))
    assert [r["work_order_id"] for r in table] == [str(bad.work_order.id), str(ok.work_order.id)]
    assert table[0]["run_state"] == "failed" and table[0]["error_type"] == "TypeError"
    assert {r["started_by"] for r in table} == {"webhook"}
    assert {r["version"] for r in table} == {"1"}
    assert "input" not in table[0]
    failed_only = _export(client, auth, project, "format=csv&status=failed")
    assert [r["work_order_id"] for r in csv.DictReader(io.StringIO(failed_only))] == [
        str(bad.work_order.id)
    ]
    searched = _export(client, auth, project, "format=csv&search=Ada")
    assert [r["work_order_id"] for r in csv.DictReader(io.StringIO(searched))] == [
        str(ok.work_order.id)
    ]


def test_json_with_dataclips_and_logs(
    client: TestClient, auth: dict, session: Session, project, workflow
) -> None:
    enqueued = factories.make_run(session, workflow, {"data": {"n": 1}})
    run = save(session, enqueued.run, state="success", finished_at=utcnow())
    out = add_dataclip(session, project.id, {"data": {"n": 2}})
    add_step(
        session,
        run,
        workflow.jobs[0].id,
        input=enqueued.dataclip,
        output=out,
        exit_reason="success",
    )
    at = utcnow()
    for i in range(3):  # equal timestamps: the sequence keeps their order
        add_log(session, run, f"line {i}", timestamp=at, sequence=i)
    wiped = factories.make_run(session, workflow, {"data": {"secret": 1}})
    save(session, session.get(Dataclip, wiped.dataclip.id), body=None, wiped_at=utcnow())
    exported = client.get(
        f"/api/projects/{project.id}/work_orders/export?format=json&include=dataclips,logs",
        headers=auth,
    )
    assert exported.headers["content-type"].startswith("application/json")
    assert "attachment" in exported.headers["content-disposition"]
    first, second = exported.json()
    assert first["id"] == str(wiped.work_order.id) and first["input"] is None
    assert second["input"] == {"data": {"n": 1}}
    (only,) = second["runs"]
    assert only["steps"][0]["output"] == {"data": {"n": 2}}
    assert [line["message"] for line in only["logs"]] == ["line 0", "line 1", "line 2"]
    as_csv = list(
        csv.DictReader(io.StringIO(_export(client, auth, project, "include=logs,dataclips")))
    )
    assert as_csv[1]["output"] == '{"data":{"n":2}}'
    assert as_csv[1]["logs"].splitlines()[2].endswith("line 2")


def test_bad_parameters_and_roles(
    client: TestClient, auth: dict, session: Session, project, workflow
) -> None:
    url = f"/api/projects/{project.id}/work_orders/export"
    for query, words in [
        ("format=xml", "format"),
        ("include=secrets", "include"),
        ("status=broken", "status"),
    ]:
        answer = client.get(f"{url}?{query}", headers=auth)
        assert answer.status_code == 422 and words in answer.text, answer.text
    viewer = factories.make_user(session)
    factories.add_member(session, project, viewer, Role.VIEWER)
    assert client.get(url, headers=factories.auth_headers(session, viewer)).status_code == 200
    missing = f"/api/projects/{uuid.uuid4()}/work_orders/export"
    assert client.get(missing, headers=auth).status_code == 404


def _many(session: Session, project, workflow, n: int) -> None:
    """`n` work orders with one run each, written in bulk."""
    snapshot = workflows.latest_snapshot(session, workflow.id)
    start = utcnow() - timedelta(hours=1)
    orders, runs = [], []
    for i in range(n):
        now = start + timedelta(milliseconds=i)
        order = rows.work_order_row(
            project_id=project.id,
            workflow_id=workflow.id,
            snapshot_id=snapshot.id,
            dataclip_id=None,
            trigger_id=workflow.triggers[0].id,
            now=now,
        )
        orders.append(order)
        runs.append(
            rows.run_row(
                work_order_id=order["id"],
                snapshot_id=snapshot.id,
                dataclip_id=None,
                trigger_id=workflow.triggers[0].id,
                now=now,
            )
        )
    session.execute(insert(WorkOrder), orders)
    session.execute(insert(Run), runs)
    session.commit()


@pytest.mark.slow
def test_ten_thousand_work_orders_stream_in_steady_memory(
    client: TestClient, auth: dict, session: Session, project, workflow
) -> None:
    _many(session, project, workflow, 10_000)
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        if "FROM work_orders" in statement:
            statements.append(statement)

    chunks = history_export.stream(project.id, WorkOrderFilters(), "csv", set())
    event.listen(get_engine(), "before_cursor_execute", count)
    try:
        first = next(chunks)
        read_before_first_chunk = len(statements)
        rest = list(chunks)
    finally:
        event.remove(get_engine(), "before_cursor_execute", count)
    # The first chunk went out after one page was read; the rest followed page by page.
    assert read_before_first_chunk <= 2
    assert len(rest) >= 10_000 // history_export.PAGE
    text = first + "".join(rest)
    ids = [r["work_order_id"] for r in csv.DictReader(io.StringIO(text))]
    assert len(ids) == len(set(ids)) == 10_000
    for fmt in ("csv", "json"):
        early, late = _peak_memory(
            history_export.stream(project.id, WorkOrderFilters(), fmt, set())
        )
        assert late < early * 1.5 + 1_000_000, (
            f"{fmt}: memory grew with the export ({early}, {late})"
        )
    answer = client.get(f"/api/projects/{project.id}/work_orders/export?format=json", headers=auth)
    assert len(answer.json()) == 10_000


def _peak_memory(chunks: Iterator[str]) -> tuple[int, int]:
    """Peak Python memory after the first 4 pages of an export, and over the whole of it
    (chunks are counted, not kept: a client reads them off the socket)."""
    tracemalloc.start()
    try:
        early = 0
        for n, _chunk in enumerate(chunks):
            if n == 4:
                early = tracemalloc.get_traced_memory()[1]
        return early, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
