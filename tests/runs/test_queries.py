"""History queries: work order filters, the search and its use of the trigram indexes.

The helpers below stand in for the engine, writing steps, log lines and
dataclips directly; tests/api/test_runs_api.py uses them too.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy import event
from sqlmodel import Session

from lightning_flows.core.db import get_engine
from lightning_flows.core.errors import InvalidInput
from lightning_flows.core.pagination import PageParams
from lightning_flows.runs import queries
from lightning_flows.runs.models import Dataclip, DataclipType, LogLine, Run, Step
from lightning_flows.runs.schemas import WorkOrderFilters
from lightning_flows.runs.service import Enqueued
from lightning_flows.runs.states import WorkOrderState
from tests import factories

T = TypeVar("T")
T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def save(session: Session, row: T, **fields: Any) -> T:
    """Set `fields` on a row and commit it."""
    for key, value in fields.items():
        setattr(row, key, value)
    session.add(row)
    session.commit()
    return row


def add_dataclip(session: Session, project_id: uuid.UUID, body: Any) -> Dataclip:
    return save(session, Dataclip(project_id=project_id, type=DataclipType.STEP_RESULT, body=body))


def add_step(
    session: Session,
    run: Run,
    job_id: uuid.UUID,
    *,
    input: Dataclip | None = None,
    output: Dataclip | None = None,
    **fields: Any,
) -> Step:
    step = Step(
        run_id=run.id,
        job_id=job_id,
        input_dataclip_id=input.id if input else None,
        output_dataclip_id=output.id if output else None,
        **fields,
    )
    return save(session, step)


def add_log(
    session: Session, run: Run, message: str, *, step: Step | None = None, **fields: Any
) -> LogLine:
    line = LogLine(run_id=run.id, step_id=step.id if step else None, message=message, **fields)
    return save(session, line)


def _list(session: Session, project: factories.Project, **filters: Any) -> list[uuid.UUID]:
    page = queries.list_work_orders(
        session, project.id, WorkOrderFilters(**filters), PageParams(page_size=100)
    )
    return [item.id for item in page.items]


@pytest.fixture
def workflow(session: Session, project: factories.Project) -> factories.WorkflowPublic:
    return factories.make_workflow(session, project, jobs=["fetch", "load"])


def _run(session: Session, workflow: factories.WorkflowPublic, body: Any = None) -> Enqueued:
    return factories.make_run(session, workflow, body)


def test_like_pattern_escapes_wildcards_and_backslash() -> None:
    assert queries.like_pattern("50%_off\\") == "%50\\%\\_off\\\\%"


def test_parse_states_names_unknown_values() -> None:
    assert queries.parse_states(["failed", "crashed", "failed"]) == [
        WorkOrderState.FAILED,
        WorkOrderState.CRASHED,
    ]
    with pytest.raises(InvalidInput, match=r"'broken'.*use one of: rejected, pending"):
        queries.parse_states(["failed", "broken"])


def test_search_matches_input_step_dataclips_and_logs(session: Session, project, workflow) -> None:
    by_input = _run(session, workflow, {"patient": "Amina WANJIRU"})
    by_output = _run(session, workflow)
    out = add_dataclip(session, project.id, {"registered": "amina wanjiru"})
    add_step(session, by_output.run, workflow.jobs[0].id, output=out)
    by_step_input = _run(session, workflow)
    step_in = add_dataclip(session, project.id, {"name": "Amina Wanjiru"})
    add_step(session, by_step_input.run, workflow.jobs[1].id, input=step_in)
    by_log = _run(session, workflow)
    add_log(session, by_log.run, "Looked up aMiNa WaNjIrU in the registry")
    other = _run(session, workflow, {"patient": "Someone else"})
    add_log(session, other.run, "nothing to see")
    add_step(session, other.run, workflow.jobs[0].id, output=add_dataclip(session, project.id, {}))

    found = set(_list(session, project, search="amina wanjiru"))
    expected = (by_input, by_output, by_step_input, by_log)
    assert found == {e.work_order.id for e in expected}
    assert _list(session, project, search="   ") == _list(session, project)


def test_search_treats_wildcards_literally(session: Session, project, workflow) -> None:
    percent = _run(session, workflow, {"discount": "50% off"})
    _run(session, workflow, {"discount": "50 percent off"})
    underscore = _run(session, workflow)
    add_log(session, underscore.run, "field a_b missing")
    _run(session, workflow, {"field": "axb"})
    assert _list(session, project, search="50%") == [percent.work_order.id]
    assert _list(session, project, search="a_b") == [underscore.work_order.id]


def test_json_forms_follow_the_stored_body_text() -> None:
    assert queries.json_forms("plain", ascii_json=True) == ["plain"]
    assert queries.json_forms('say "José"', ascii_json=False) == ['say "José"', 'say \\"José\\"']
    assert queries.json_forms("José", ascii_json=True) == ["José", "Jos\\u00e9"]


def test_search_finds_quotes_and_non_ascii_in_bodies(session: Session, project, workflow) -> None:
    accented = _run(session, workflow, {"name": "José Ñúñez"})
    quoted = _run(session, workflow, {"note": 'she said "call back"'})
    _run(session, workflow, {"name": "Jose Nunez", "note": "call back"})
    assert _list(session, project, search="José Ñ") == [accented.work_order.id]
    assert _list(session, project, search='said "call') == [quoted.work_order.id]


def test_search_skips_wiped_dataclips_and_other_projects(
    session: Session, project, workflow
) -> None:
    wiped = _run(session, workflow, {"secret": "needle"})
    save(session, wiped.dataclip, wiped_at=T0)
    other_project = factories.make_project(session)
    other = factories.make_workflow(session, other_project)
    factories.make_run(session, other, {"x": "needle"})
    assert _list(session, project, search="needle") == []


def test_filters_combine(session: Session, project, workflow) -> None:
    second = factories.make_workflow(session, project)
    a, b, c = (_run(session, wf) for wf in (workflow, workflow, second))
    save(
        session, a.work_order, state="failed", inserted_at=T0, last_activity=T0 + timedelta(hours=5)
    )
    save(
        session,
        b.work_order,
        state="success",
        inserted_at=T0 + timedelta(hours=1),
        last_activity=T0 + timedelta(hours=1),
    )
    save(
        session,
        c.work_order,
        state="crashed",
        inserted_at=T0 + timedelta(hours=2),
        last_activity=T0 + timedelta(hours=2),
    )
    a_id, b_id, c_id = (x.work_order.id for x in (a, b, c))

    assert _list(session, project) == [c_id, b_id, a_id]
    failed, crashed = WorkOrderState.FAILED, WorkOrderState.CRASHED
    assert _list(session, project, states=[failed, crashed]) == [c_id, a_id]
    assert _list(session, project, workflow_id=second.id) == [c_id]
    assert _list(session, project, states=[failed], workflow_id=second.id) == []
    assert _list(session, project, since=T0 + timedelta(hours=1)) == [c_id, b_id]
    assert _list(session, project, until=T0 + timedelta(hours=1)) == [a_id]
    since = T0 + timedelta(hours=2)
    assert _list(session, project, last_activity_since=since) == [c_id, a_id]
    assert _list(session, project, last_activity_until=since) == [b_id]
    naive = datetime(2024, 3, 1, 13, 0)  # read as UTC
    assert _list(session, project, since=naive, until=naive + timedelta(hours=1)) == [b_id]


@contextmanager
def _count_statements() -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(get_engine(), "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(get_engine(), "before_cursor_execute", record)


def test_runs_are_loaded_for_the_whole_page_at_once(session: Session, project, workflow) -> None:
    counts = []
    for _ in range(2):
        for _ in range(3):
            enqueued = _run(session, workflow)
            session.add(
                Run(
                    work_order_id=enqueued.work_order.id,
                    snapshot_id=enqueued.run.snapshot_id,
                    starting_trigger_id=workflow.triggers[0].id,
                )
            )
            session.commit()
        session.expunge_all()
        with _count_statements() as statements:
            page = queries.list_work_orders(session, project.id, WorkOrderFilters(), PageParams())
        assert all(len(item.runs) == 2 for item in page.items)
        counts.append(len(statements))
    assert page.total == 6
    assert counts[0] == counts[1] <= 4


def test_search_expressions_match_the_trigram_indexes(session: Session, project, workflow) -> None:
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("the trigram indexes exist on PostgreSQL only")
    enqueued = _run(session, workflow, {"name": "needle"})
    add_log(session, enqueued.run, "needle")
    statement = queries.work_orders_statement(project.id, WorkOrderFilters(search="needle"))
    with get_engine().connect() as conn:
        compiled = statement.compile(dialect=conn.dialect)
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        conn.exec_driver_sql("SET LOCAL enable_indexscan = off")
        plan = "\n".join(
            row[0] for row in conn.exec_driver_sql("EXPLAIN " + str(compiled), compiled.params)
        )
    assert "ix_dataclips_body_trgm" in plan, plan
    assert "ix_log_lines_message_trgm" in plan, plan
