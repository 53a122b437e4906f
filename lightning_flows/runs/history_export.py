"""Exporting a project's filtered history as CSV or JSON, streamed.

Work orders are read in keyset pages (newest first, `(inserted_at, id)` below the last
row of the previous page), each page in its own short session, and written out before
the next is read: memory stays bounded by one page whatever the history's size, and no
transaction stays open while a slow client downloads.

CSV has one row per run (a work order without runs has one row with empty run
columns); JSON is an array of work orders, each with its runs. `include` adds the
dataclips (the work order's input; each run's steps with their input and output) and
the log lines. Wiped dataclips export as null.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from lightning_flows.core.db import session_scope
from lightning_flows.core.errors import InvalidInput
from lightning_flows.runs import queries
from lightning_flows.runs.models import Dataclip, LogLine, Step, WorkOrder
from lightning_flows.runs.schemas import RunSummary, WorkOrderFilters

PAGE = 500
PAGE_WITH_DATA = 100  # pages with bodies and logs hold more per row
FORMATS = ("csv", "json")
INCLUDES = ("dataclips", "logs")
CSV_COLUMNS = [
    "work_order_id",
    "workflow_id",
    "workflow_name",
    "work_order_state",
    "started_by",
    "received_at",
    "last_activity",
    "run_id",
    "run_started_by",
    "run_state",
    "version",
    "error_type",
    "run_started_at",
    "run_finished_at",
]


def parse_include(raw: str | None) -> set[str]:
    """`dataclips,logs` as a set; InvalidInput names anything else."""
    chosen = {part.strip() for part in (raw or "").split(",") if part.strip()}
    unknown = sorted(chosen - set(INCLUDES))
    if unknown:
        raise InvalidInput(
            f"include: unknown {', '.join(repr(u) for u in unknown)}; use any of "
            f"{', '.join(INCLUDES)} (comma-separated)."
        )
    return chosen


def stream(
    project_id: uuid.UUID, filters: WorkOrderFilters, fmt: str, include: set[str]
) -> Iterator[str]:
    """The export as text chunks, one page of work orders at a time."""
    if fmt not in FORMATS:
        raise InvalidInput(f"format: use csv or json, not {fmt!r}.")
    pages = _pages(project_id, filters, include)
    return _csv(pages, include) if fmt == "csv" else _json(pages)


def _pages(
    project_id: uuid.UUID, filters: WorkOrderFilters, include: set[str]
) -> Iterator[list[dict[str, Any]]]:
    size = PAGE_WITH_DATA if include else PAGE
    after: tuple[Any, uuid.UUID] | None = None
    while True:
        with session_scope() as session:
            statement = queries.work_orders_statement(
                project_id, filters, dialect=session.get_bind().dialect.name
            )
            if after is not None:
                statement = statement.where(
                    sa.tuple_(col(WorkOrder.inserted_at), col(WorkOrder.id)) < sa.tuple_(*after)
                )
            orders = list(session.exec(statement.limit(size)).all())
            if not orders:
                return
            records = _records(session, orders, include)
        after = (orders[-1].inserted_at, orders[-1].id)
        yield records
        if len(orders) < size:
            return


def _records(session: Session, orders: list[WorkOrder], include: set[str]) -> list[dict[str, Any]]:
    names = queries.workflow_names(session, {wo.workflow_id for wo in orders})
    runs = queries.runs_by_work_order(session, [wo.id for wo in orders])
    run_ids = [run.id for wo in orders for run in runs[wo.id]]
    bodies = _bodies(session, orders, run_ids) if "dataclips" in include else None
    logs = _logs(session, run_ids) if "logs" in include else None
    records = []
    for wo in orders:
        record: dict[str, Any] = {
            "id": str(wo.id),
            "workflow_id": str(wo.workflow_id),
            "workflow_name": names.get(wo.workflow_id),
            "state": wo.state,
            "started_by": runs[wo.id][-1].started_by if runs[wo.id] else None,
            "received_at": wo.inserted_at.isoformat(),
            "last_activity": wo.last_activity.isoformat(),
        }
        if bodies is not None:
            record["input"] = bodies.clips.get(wo.dataclip_id) if wo.dataclip_id else None
        record["runs"] = [_run_record(run, bodies, logs) for run in runs[wo.id]]
        records.append(record)
    return records


def _run_record(run: RunSummary, bodies: _Bodies | None, logs: dict | None) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": str(run.id),
        "started_by": run.started_by,
        "state": run.state.value,
        "version": run.version,
        "error_type": run.error_type,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }
    if bodies is not None:
        record["steps"] = bodies.steps.get(run.id, [])
    if logs is not None:
        record["logs"] = logs.get(run.id, [])
    return record


class _Bodies:
    def __init__(self) -> None:
        self.clips: dict[uuid.UUID, Any] = {}
        self.steps: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)


def _bodies(session: Session, orders: list[WorkOrder], run_ids: list[uuid.UUID]) -> _Bodies:
    """Inputs of the work orders and every step's input and output (null once wiped)."""
    out = _Bodies()
    steps = (
        session.exec(
            select(Step).where(col(Step.run_id).in_(run_ids)).order_by(*queries.STEP_ORDER)
        ).all()
        if run_ids
        else []
    )
    ids = {wo.dataclip_id for wo in orders} | {
        i for s in steps for i in (s.input_dataclip_id, s.output_dataclip_id)
    }
    ids.discard(None)
    for clip_id, body, wiped in session.exec(
        select(Dataclip.id, Dataclip.body, Dataclip.wiped_at).where(col(Dataclip.id).in_(ids))
    ).all():
        out.clips[clip_id] = None if wiped else body
    for step in steps:
        out.steps[step.run_id].append(
            {
                "job_id": str(step.job_id),
                "attempt": step.attempt,
                "exit_reason": step.exit_reason,
                "error_type": step.error_type,
                "error_message": step.error_message,
                "started_at": step.started_at.isoformat() if step.started_at else None,
                "finished_at": step.finished_at.isoformat() if step.finished_at else None,
                "input": out.clips.get(step.input_dataclip_id),  # type: ignore[arg-type]
                "output": out.clips.get(step.output_dataclip_id),  # type: ignore[arg-type]
            }
        )
    return out


def _logs(session: Session, run_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[dict[str, Any]]]:
    grouped: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    if not run_ids:
        return grouped
    lines = session.exec(
        select(LogLine)
        .where(col(LogLine.run_id).in_(run_ids))
        .order_by(col(LogLine.timestamp), col(LogLine.sequence), col(LogLine.id))
    ).all()
    for line in lines:
        grouped[line.run_id].append(
            {
                "timestamp": line.timestamp.isoformat(),
                "level": line.level,
                "source": line.source,
                "message": line.message,
            }
        )
    return grouped


def _json(pages: Iterable[list[dict[str, Any]]]) -> Iterator[str]:
    yield "["
    first = True
    for page in pages:
        parts = [json.dumps(record, default=str, separators=(",", ":")) for record in page]
        yield ("" if first else ",") + ",\n".join(parts)
        first = False
    yield "]\n"


def _csv(pages: Iterable[list[dict[str, Any]]], include: set[str]) -> Iterator[str]:
    columns = list(CSV_COLUMNS)
    if "dataclips" in include:
        columns += ["input", "output"]
    if "logs" in include:
        columns.append("logs")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for page in pages:
        for record in page:
            for row in _csv_rows(record, include):
                writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def _csv_rows(record: dict[str, Any], include: set[str]) -> Iterator[list[Any]]:
    head = [
        record["id"],
        record["workflow_id"],
        record["workflow_name"],
        record["state"],
        record["started_by"],
        record["received_at"],
        record["last_activity"],
    ]
    for run in record["runs"] or [None]:
        row = head + (
            [
                run["id"],
                run["started_by"],
                run["state"],
                run["version"],
                run["error_type"],
                run["started_at"],
                run["finished_at"],
            ]
            if run
            else [""] * 7
        )
        if "dataclips" in include:
            steps = (run or {}).get("steps") or []
            output = steps[-1]["output"] if steps else None
            row += [_text(record.get("input")), _text(output)]
        if "logs" in include:
            lines = (run or {}).get("logs") or []
            row.append(
                "\n".join(
                    f"{ln['timestamp']} {ln['level']} {ln['source']} {ln['message']}"
                    for ln in lines
                )
            )
        yield row


def _text(body: Any) -> str:
    return "" if body is None else json.dumps(body, default=str, separators=(",", ":"))
