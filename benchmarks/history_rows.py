"""The history benchmark's rows: work orders over 90 days with runs, steps, dataclips and
log lines, as the engine records them (a step's input is its parent's output)."""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

COLUMNS = {
    "dataclips": ("id", "project_id", "type", "body", "request", "inserted_at", "updated_at"),
    "work_orders": (
        "id", "project_id", "workflow_id", "trigger_id", "snapshot_id", "dataclip_id", "state",
        "last_activity", "inserted_at", "updated_at",
    ),
    "runs": (
        "id", "work_order_id", "snapshot_id", "starting_trigger_id", "dataclip_id",
        "final_dataclip_id", "state", "error_type", "priority", "started_at", "finished_at",
        "inserted_at",
    ),
    "steps": (
        "id", "run_id", "job_id", "exit_reason", "error_type", "error_message",
        "input_dataclip_id", "output_dataclip_id", "started_at", "finished_at", "inserted_at",
    ),
    "log_lines": ("id", "run_id", "step_id", "level", "source", "message", "timestamp"),
}  # fmt: skip
FIRST = ["Amina", "Baraka", "Chidi", "Dalia", "Esi", "Femi", "Gift", "Hadiza", "Imani", "Juma"]
LAST = ["Okafor", "Mensah", "Kamau", "Diallo", "Banda", "Phiri", "Moyo", "Otieno", "Sow", "Ndlovu"]
WORDS = ["referral", "follow-up", "household", "visit", "school", "clinic", "nutrition"]
DISTRICTS = ["Kibera", "Kisumu", "Nakuru", "Eldoret", "Mombasa", "Garissa"]
COMMON = "Wanjiru"  # in ~1% of input bodies
ERROR = "Cannot read properties of undefined (reading 'id')"
# cumulative probability, work order state, run state, exit reason of the 2nd step
STATES = [
    (0.85, "success", "success", "success"),
    (0.95, "failed", "failed", "fail"),
    (0.96, "crashed", "crashed", "crash"),
    (0.97, "pending", "available", None),
    (0.98, "running", "started", None),
    (0.99, "rejected", None, None),
    (1.00, "killed", "killed", "kill"),
]
Row = tuple[str, tuple[Any, ...]]


@dataclass(frozen=True)
class Flow:
    """A seeded workflow: its id, latest snapshot, webhook trigger and its two jobs."""

    id: uuid.UUID
    snapshot: uuid.UUID
    trigger: uuid.UUID
    fetch: uuid.UUID
    load: uuid.UUID


def row(table: str, **values: Any) -> Row:
    """A row for COPY, its values in `COLUMNS[table]` order."""
    return table, tuple(values[column] for column in COLUMNS[table])


def needle_indexes(total: int) -> tuple[int, int, int]:
    """The work orders that the searches for one case id, record and registration find
    (they always succeed, so each has its outputs and logs)."""
    return total * 42 // 100, total * 77 // 100, total * 13 // 100


def history_rows(
    project_id: uuid.UUID, flows: list[Flow], total: int, newest: dt.datetime
) -> Iterator[Row]:
    """Every row, work orders oldest first, evenly spread over the 90 days before `newest`."""
    rng = random.Random(42)
    needles = set(needle_indexes(total))
    start = newest - dt.timedelta(days=90)
    for i in range(total):
        flow = flows[i % len(flows)]
        at = start + dt.timedelta(days=90 * i / total)
        roll = 0.0 if i in needles else rng.random()
        _, wo_state, run_state, last_exit = next(s for s in STATES if roll < s[0])
        name = COMMON if i % 100 == 7 else rng.choice(FIRST)
        child = {"name": f"{name} {rng.choice(LAST)}", "age": i % 17}
        notes = " ".join(rng.sample(WORDS, 4))
        data = {"case_id": f"C-{i:07d}", "child": child, "district": rng.choice(DISTRICTS)}
        clip, wo = uuid.uuid4(), uuid.uuid4()
        request = {"method": "POST", "path": f"/i/{flow.trigger}"}
        yield row(
            "dataclips",
            id=clip,
            project_id=project_id,
            type="http_request",
            body=json.dumps({"data": {**data, "notes": notes}}),
            request=json.dumps(request),
            inserted_at=at,
            updated_at=at,
        )
        final = run_state not in (None, "available", "started")
        last = at + dt.timedelta(seconds=1.5) if final else at
        yield row(
            "work_orders",
            id=wo,
            project_id=project_id,
            workflow_id=flow.id,
            trigger_id=flow.trigger,
            snapshot_id=flow.snapshot,
            dataclip_id=clip,
            state=wo_state,
            last_activity=last,
            inserted_at=at,
            updated_at=at,
        )
        if run_state is None:
            continue
        retried = wo_state == "failed" and i % 20 == 3
        for attempt in range(2 if retried else 1):
            started = at + dt.timedelta(minutes=10 * attempt, seconds=0.2)
            yield from _run(project_id, flow, i, wo, clip, started, run_state, last_exit)


def _run(
    project_id: uuid.UUID,
    flow: Flow,
    i: int,
    wo: uuid.UUID,
    clip: uuid.UUID,
    t: dt.datetime,
    run_state: str,
    last_exit: str | None,
) -> Iterator[Row]:
    """One run: two steps (the second may fail), their output dataclips and log lines."""
    run, out1, out2, s1, s2 = (uuid.uuid4() for _ in range(5))
    final = run_state not in ("available", "started")
    failed = last_exit not in (None, "success")
    yield row(
        "runs",
        id=run,
        work_order_id=wo,
        snapshot_id=flow.snapshot,
        starting_trigger_id=flow.trigger,
        dataclip_id=clip,
        final_dataclip_id=out2 if final else None,
        state=run_state,
        error_type=run_state if failed else None,
        priority=1,
        started_at=None if run_state == "available" else t,
        finished_at=t + dt.timedelta(seconds=1.3) if final else None,
        inserted_at=t,
    )
    if run_state == "available":
        return
    t2 = t + dt.timedelta(seconds=0.5)
    registered = {"data": {"case_id": f"C-{i:07d}", "registered_as": f"REG-{i:07d}"}}
    yield row(
        "dataclips",
        id=out1,
        project_id=project_id,
        type="step_result",
        body=json.dumps(registered),
        request=None,
        inserted_at=t2,
        updated_at=t2,
    )
    yield row(
        "steps",
        id=s1,
        run_id=run,
        job_id=flow.fetch,
        exit_reason="success",
        error_type=None,
        error_message=None,
        input_dataclip_id=clip,
        output_dataclip_id=out1,
        started_at=t,
        finished_at=t2,
        inserted_at=t,
    )
    end = t2 + dt.timedelta(seconds=0.8)
    if final:
        status = {"data": {"status": "error" if failed else "ok"}}
        yield row(
            "dataclips",
            id=out2,
            project_id=project_id,
            type="step_result",
            body=json.dumps(status),
            request=None,
            inserted_at=end,
            updated_at=end,
        )
    yield row(
        "steps",
        id=s2,
        run_id=run,
        job_id=flow.load,
        exit_reason=last_exit,
        error_type="TypeError" if failed else None,
        error_message=ERROR if failed else None,
        input_dataclip_id=out1,
        output_dataclip_id=out2 if final else None,
        started_at=t2,
        finished_at=end if final else None,
        inserted_at=t2,
    )
    for step, when, message in (
        (s1, t, f"Fetching case C-{i:07d} from the registry"),
        (s1, t2, "Fetched 1 record"),
        (s2, t2, f"POST /api/records -> 201 (rec-{900_000 + i})"),
        (s2, end, f"TypeError: {ERROR}" if failed else "Operation complete"),
    ):
        yield row(
            "log_lines",
            id=uuid.uuid4(),
            run_id=run,
            step_id=step,
            level="info",
            source="JOB",
            message=message,
            timestamp=when,
        )
