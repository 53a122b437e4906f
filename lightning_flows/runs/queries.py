"""Reading what the engine recorded: runs and their steps, log lines, dataclips, work orders.

The history search compares with ILIKE against ``CAST(body AS TEXT)`` and
``message``: on PostgreSQL these are exactly the expressions of the trigram
indexes ``ix_dataclips_body_trgm`` and ``ix_log_lines_message_trgm``.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from lightning_flows.core.errors import InvalidInput, NotFound
from lightning_flows.core.pagination import Page, PageParams, paginate
from lightning_flows.runs import origins
from lightning_flows.runs.batch_models import RetryBatchItem
from lightning_flows.runs.models import Dataclip, LogLine, Run, Step, WorkOrder
from lightning_flows.runs.schemas import (
    DataclipPublic,
    LogLinePublic,
    RunDetail,
    RunSummary,
    StepPublic,
    WorkOrderFilters,
    WorkOrderListItem,
)
from lightning_flows.runs.states import WorkOrderState
from lightning_flows.workflows.models import Trigger, Workflow, WorkflowSnapshot

_ESCAPE = "\\"


def get_run_with_work_order(session: Session, run_id: uuid.UUID) -> tuple[Run, WorkOrder]:
    """A run with its work order (which names the project), or NotFound."""
    row = session.exec(
        select(Run, WorkOrder)
        .join(WorkOrder, col(WorkOrder.id) == col(Run.work_order_id))
        .where(col(Run.id) == run_id)
    ).first()
    if row is None:
        raise NotFound("Run not found.")
    return row[0], row[1]


STEP_ORDER = (
    sa.func.coalesce(col(Step.started_at), col(Step.inserted_at)),
    col(Step.inserted_at),
    col(Step.id),
)


def _job_names(snapshot: WorkflowSnapshot | None) -> dict[str, dict[str, Any]]:
    """The snapshot's jobs by id (their name and retry settings)."""
    jobs = (snapshot.document.get("jobs") or []) if snapshot else []
    return {str(job.get("id")): job for job in jobs}


def _step_public(step: Step, jobs: dict[str, dict[str, Any]]) -> StepPublic:
    job = jobs.get(str(step.job_id)) or {}
    return StepPublic.model_validate(
        {
            **step.model_dump(),
            "job_name": job.get("name"),
            "max_attempts": max(int(job.get("max_attempts") or 1), step.attempt),
        }
    )


def run_detail(session: Session, run: Run, work_order: WorkOrder) -> RunDetail:
    """A run and its steps in execution order, job names taken from the run's snapshot."""
    snapshot = session.get(WorkflowSnapshot, run.snapshot_id)
    names = _job_names(snapshot)
    steps = session.exec(select(Step).where(col(Step.run_id) == run.id).order_by(*STEP_ORDER))
    latest = session.exec(
        select(Workflow.lock_version).where(Workflow.id == work_order.workflow_id)
    ).first()
    return RunDetail.model_validate(
        {
            **run.model_dump(),
            "workflow_id": work_order.workflow_id,
            "project_id": work_order.project_id,
            "steps": [_step_public(s, names) for s in steps.all()],
            "version": snapshot.lock_version if snapshot else None,
            "latest_version": latest,
        }
    )


def steps_by_run(
    session: Session, run_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[StepPublic]]:
    """The steps of many runs in execution order (three queries, whatever the count)."""
    grouped: dict[uuid.UUID, list[StepPublic]] = defaultdict(list)
    if not run_ids:
        return grouped
    rows = session.exec(
        select(Step, Run.snapshot_id)
        .join(Run, col(Run.id) == col(Step.run_id))
        .where(col(Step.run_id).in_(run_ids))
        .order_by(*STEP_ORDER)
    ).all()
    snapshot_ids = {snapshot_id for _step, snapshot_id in rows}
    snapshots = session.exec(
        select(WorkflowSnapshot).where(col(WorkflowSnapshot.id).in_(snapshot_ids))
    ).all()
    names = {snapshot.id: _job_names(snapshot) for snapshot in snapshots}
    for step, snapshot_id in rows:
        grouped[step.run_id].append(_step_public(step, names.get(snapshot_id, {})))
    return grouped


def list_log_lines(
    session: Session, run_id: uuid.UUID, params: PageParams, *, step_id: uuid.UUID | None = None
) -> Page[LogLinePublic]:
    """A run's log lines in time order, optionally those of one step."""
    statement = select(LogLine).where(col(LogLine.run_id) == run_id)
    if step_id is not None:
        statement = statement.where(col(LogLine.step_id) == step_id)
    statement = statement.order_by(col(LogLine.timestamp), col(LogLine.sequence), col(LogLine.id))
    page = paginate(session, statement, params)
    items = [LogLinePublic.model_validate(line, from_attributes=True) for line in page.items]
    return Page[LogLinePublic](
        items=items, page=page.page, page_size=page.page_size, total=page.total
    )


def get_dataclip(session: Session, dataclip_id: uuid.UUID) -> Dataclip:
    dataclip = session.get(Dataclip, dataclip_id)
    if dataclip is None:
        raise NotFound("Dataclip not found.")
    return dataclip


def dataclip_public(dataclip: Dataclip) -> DataclipPublic:
    """A dataclip as shown to users: nothing of its content survives a wipe."""
    wiped = dataclip.wiped_at is not None
    return DataclipPublic.model_validate(
        {
            **dataclip.model_dump(),
            "body": None if wiped else dataclip.body,
            "request": None if wiped else dataclip.request,
        }
    )


def parse_states(values: Iterable[str]) -> list[WorkOrderState]:
    """Work order states named by a client; InvalidInput names any unknown one."""
    values = list(values)
    known = [state.value for state in WorkOrderState]
    unknown = [v for v in values if v not in known]
    if unknown:
        raise InvalidInput(
            f"Unknown work order status {', '.join(repr(v) for v in unknown)}; "
            f"use one of: {', '.join(known)}."
        )
    return [WorkOrderState(v) for v in dict.fromkeys(values)]


def list_work_orders(
    session: Session,
    project_id: uuid.UUID,
    filters: WorkOrderFilters,
    params: PageParams,
    *,
    count_limit: int | None = None,
) -> Page[WorkOrderListItem]:
    """A project's work orders, newest first, each with its runs (newest first).

    With `count_limit`, counting stops there: `total` is then at most
    `count_limit + 1`, which means "more than `count_limit`" (the UI's history page:
    an exact count of 100,000 rows costs more than the page itself).
    """
    statement = work_orders_statement(project_id, filters, dialect=session.get_bind().dialect.name)
    if count_limit is None:
        page = paginate(session, statement, params)
    elif (filters.search or "").strip():
        page = _searched_page(session, statement, params, count_limit)
    else:
        total = _count_up_to(session, statement, count_limit)
        rows = session.exec(statement.offset(params.offset).limit(params.page_size)).all()
        page = Page(items=list(rows), page=params.page, page_size=params.page_size, total=total)
    orders: list[WorkOrder] = page.items
    names = workflow_names(session, {wo.workflow_id for wo in orders})
    runs = runs_by_work_order(session, [wo.id for wo in orders])
    items = [
        WorkOrderListItem.model_validate(
            {
                **wo.model_dump(),
                "workflow_name": names[wo.workflow_id],
                "runs": runs[wo.id],
                "started_by": runs[wo.id][-1].started_by if runs[wo.id] else None,
            }
        )
        for wo in orders
    ]
    return Page[WorkOrderListItem](
        items=items, page=page.page, page_size=page.page_size, total=page.total
    )


def _count_up_to(session: Session, statement: SelectOfScalar[WorkOrder], limit: int) -> int:
    """How many rows `statement` returns, counting no further than `limit + 1`."""
    counted = statement.order_by(None).with_only_columns(col(WorkOrder.id)).limit(limit + 1)
    return int(session.exec(select(sa.func.count()).select_from(counted.subquery())).one())


def _searched_page(
    session: Session, statement: SelectOfScalar[WorkOrder], params: PageParams, limit: int
) -> Page[WorkOrder]:
    """A page of a search and its total in one query (`count(*) OVER ()`): the search,
    the costly part, runs once instead of once for the count and once for the page."""
    rows = session.execute(
        statement.add_columns(sa.func.count().over()).offset(params.offset).limit(params.page_size)
    ).all()
    total = int(rows[0][1]) if rows else _count_up_to(session, statement, limit)
    return Page(
        items=[row[0] for row in rows], page=params.page, page_size=params.page_size, total=total
    )


def work_orders_statement(
    project_id: uuid.UUID, filters: WorkOrderFilters, *, dialect: str = "postgresql"
) -> SelectOfScalar[WorkOrder]:
    """The SELECT of a project's work orders matching `filters`, newest first.

    `dialect` is the database's: SQLite stores JSON with non-ASCII escaped.
    """
    return (
        select(WorkOrder)
        .where(col(WorkOrder.project_id) == project_id, *_conditions(filters, dialect))
        .order_by(col(WorkOrder.inserted_at).desc(), col(WorkOrder.id).desc())
    )


def _conditions(filters: WorkOrderFilters, dialect: str) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.states:
        conditions.append(col(WorkOrder.state).in_([s.value for s in filters.states]))
    if filters.workflow_id is not None:
        conditions.append(col(WorkOrder.workflow_id) == filters.workflow_id)
    bounds = (
        (col(WorkOrder.inserted_at), filters.since, filters.until),
        (col(WorkOrder.last_activity), filters.last_activity_since, filters.last_activity_until),
    )
    for column, lower, upper in bounds:
        if lower is not None:
            conditions.append(column >= lower)
        if upper is not None:
            conditions.append(column < upper)
    text = (filters.search or "").strip()
    if text:
        conditions.append(_search_condition(text, ascii_json=dialect == "sqlite"))
    return conditions


def like_pattern(text: str) -> str:
    """A `%text%` pattern in which the user's `%`, `_` and backslashes match literally."""
    for char in (_ESCAPE, "%", "_"):
        text = text.replace(char, _ESCAPE + char)
    return f"%{text}%"


def json_forms(text: str, *, ascii_json: bool) -> list[str]:
    """`text` as typed and as it is written inside a JSON string in a stored body.

    A body's text escapes quotes and backslashes; SQLite's also escapes
    non-ASCII characters (``José`` is stored as ``Jos\\u00e9``).
    """
    return list(dict.fromkeys([text, json.dumps(text, ensure_ascii=ascii_json)[1:-1]]))


def _search_condition(text: str, *, ascii_json: bool) -> ColumnElement[bool]:
    """The work order's input, any step's input/output, or any log line contains `text`.

    Written as `id IN (UNION of work order ids)`, each part starting from what matched
    (dataclips, log lines: the trigram indexes on PostgreSQL) and joining to the few
    work orders concerned. Correlated EXISTS per work order made PostgreSQL test
    every work order of the project, and its cost estimate set off JIT compilation
    (seconds per query with 100,000 work orders).
    """
    pattern = like_pattern(text)
    body_text = sa.cast(col(Dataclip.body), sa.Text)
    body_patterns = [like_pattern(form) for form in json_forms(text, ascii_json=ascii_json)]
    matched = (
        select(Dataclip.id)
        .where(
            col(Dataclip.wiped_at).is_(None),
            sa.or_(*(body_text.ilike(p, escape=_ESCAPE) for p in body_patterns)),
        )
        .cte("search_dataclips")
        .prefix_with("MATERIALIZED")  # scanned once, then joined by id (index lookups)
    )
    clips = select(matched.c.id)
    received = aliased(WorkOrder)
    by_step = [
        select(Run.work_order_id)
        .join(Step, col(Step.run_id) == col(Run.id))
        .where(column.in_(clips))
        for column in (col(Step.input_dataclip_id), col(Step.output_dataclip_id))
    ]
    by_log = (
        select(Run.work_order_id)
        .join(LogLine, col(LogLine.run_id) == col(Run.id))
        .where(col(LogLine.message).ilike(pattern, escape=_ESCAPE))
    )
    matches = sa.union(
        select(received.id).where(col(received.dataclip_id).in_(clips)), *by_step, by_log
    )
    return col(WorkOrder.id).in_(matches)


def workflow_names(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    rows = session.exec(select(Workflow.id, Workflow.name).where(col(Workflow.id).in_(ids)))
    return dict(rows.all())


def runs_by_work_order(
    session: Session, work_order_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[RunSummary]]:
    """Every run of the given work orders, in one query, newest first per work order,
    with its version and what started it."""
    grouped: dict[uuid.UUID, list[RunSummary]] = defaultdict(list)
    if not work_order_ids:
        return grouped
    input_clip = aliased(Dataclip)
    rows: list[Any] = session.execute(  # type: ignore[assignment]
        sa.select(
            Run,
            col(WorkflowSnapshot.lock_version),
            col(Workflow.lock_version),
            col(RetryBatchItem.run_id),
            col(Trigger.type),
            col(input_clip.type),
        )
        .join(WorkflowSnapshot, col(WorkflowSnapshot.id) == col(Run.snapshot_id))
        .join(Workflow, col(Workflow.id) == col(WorkflowSnapshot.workflow_id))
        .join(WorkOrder, col(WorkOrder.id) == col(Run.work_order_id))
        .outerjoin(input_clip, col(input_clip.id) == col(WorkOrder.dataclip_id))
        .outerjoin(RetryBatchItem, col(RetryBatchItem.run_id) == col(Run.id))
        .outerjoin(Trigger, col(Trigger.id) == col(Run.starting_trigger_id))
        .where(col(Run.work_order_id).in_(work_order_ids))
        .order_by(col(Run.inserted_at).desc(), col(Run.id).desc())
    ).all()
    runs_of: dict[uuid.UUID, int] = defaultdict(int)
    for row in rows:
        runs_of[row[0].work_order_id] += 1
    for run, version, latest, batch_run, trigger_type, input_type in rows:
        summary = RunSummary.model_validate(run, from_attributes=True)
        summary.version, summary.latest_version = version, latest
        grouped[run.work_order_id].append(summary)
        first = len(grouped[run.work_order_id]) == runs_of[run.work_order_id]  # oldest last
        summary.started_by = origins.origin_of(
            first=first,
            in_batch=batch_run is not None,
            created_by_id=run.created_by_id,
            trigger_type=trigger_type,
            input_type=input_type,
        ).value
    return grouped
