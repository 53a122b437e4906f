"""The history page's query string: parsing it into `WorkOrderFilters`, and building it back.

Every filter lives in the URL (`?status=failed&status=crashed&workflow_id=...&search=...`),
so any combination can be shared. Times are UTC: `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM[:SS]`
(an offset such as `Z` or `+02:00` is honoured). A date alone as an upper bound
includes that whole day.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from lightning_flows.core.timeutil import as_utc
from lightning_flows.runs.schemas import WorkOrderFilters
from lightning_flows.runs.states import WorkOrderState

TIME_FIELDS = ("since", "until", "last_activity_since", "last_activity_until")
UPPER_BOUNDS = frozenset({"until", "last_activity_until"})
SEARCH_MAX = 1000
FORM_TIME = "%Y-%m-%dT%H:%M"


@dataclass
class HistoryQuery:
    """Parsed filters, the values to refill the form with, and what could not be understood."""

    filters: WorkOrderFilters
    values: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def items(self) -> list[tuple[str, str]]:
        """The active filters as query-string pairs (for share links and the pager)."""
        pairs = [("status", s.value) for s in self.filters.states]
        pairs += [(k, v) for k, v in self.values.items() if k != "status" and v]
        return pairs

    @property
    def active(self) -> bool:
        return bool(self.items())


def parse_time(text: str, *, upper: bool) -> datetime:
    """A UTC datetime from a date or an ISO datetime; ValueError if it is neither."""
    text = text.strip()
    if len(text) == 10:
        day = date.fromisoformat(text)
        moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
        return moment + timedelta(days=1) if upper else moment
    return as_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))


def form_time(moment: datetime) -> str:
    """The value of a `datetime-local` input (UTC, seconds only when not zero)."""
    return moment.strftime(FORM_TIME + (":%S" if moment.second else ""))


def parse(params: QueryParams) -> HistoryQuery:
    query = HistoryQuery(filters=WorkOrderFilters())
    known = {s.value for s in WorkOrderState}
    states = []
    for value in dict.fromkeys(params.getlist("status")):
        if value in known:
            states.append(WorkOrderState(value))
        elif value:
            query.errors.append(f"Unknown status '{value}' was ignored.")
    query.filters.states = states
    workflow = (params.get("workflow_id") or "").strip()
    if workflow:
        try:
            query.filters.workflow_id = uuid.UUID(workflow)
            query.values["workflow_id"] = str(query.filters.workflow_id)
        except ValueError:
            query.errors.append("That workflow id is not valid; the workflow filter was ignored.")
    for name in TIME_FIELDS:
        raw = (params.get(name) or "").strip()
        if not raw:
            continue
        try:
            moment = parse_time(raw, upper=name in UPPER_BOUNDS)
        except ValueError:
            query.errors.append(
                f"'{raw}' is not a date or time (use YYYY-MM-DD or YYYY-MM-DDTHH:MM)."
            )
            continue
        setattr(query.filters, name, moment)
        query.values[name] = form_time(moment)
    search = (params.get("search") or "").strip()[:SEARCH_MAX]
    if search:
        query.filters.search = search
        query.values["search"] = search
    return query


def history_url(
    project_id: uuid.UUID,
    *,
    states: Iterable[str] = (),
    workflow_id: uuid.UUID | None = None,
    since: datetime | None = None,
) -> str:
    """A link to a project's history with the given filters."""
    pairs = [("status", str(s)) for s in states]
    if workflow_id:
        pairs.append(("workflow_id", str(workflow_id)))
    if since:
        pairs.append(("since", form_time(as_utc(since))))
    suffix = f"?{urlencode(pairs)}" if pairs else ""
    return f"/projects/{project_id}/history{suffix}"
