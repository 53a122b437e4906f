"""Daily/weekly/monthly digests: runs, failures and top errors of a finished period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlmodel import col

from lightning_flows.notifications.digest import build_digest, period_for, send_digests
from lightning_flows.projects.models import Digest, ProjectUser, Role
from lightning_flows.runs.models import Run, WorkOrder
from lightning_flows.runs.states import RunState
from lightning_flows.runs.transitions import transition
from tests import factories
from tests.notifications.conftest import BASE_URL, fail_run, mails_to, text_of

NOW = datetime(2026, 12, 9, 6, 0, tzinfo=UTC)  # a Wednesday
YESTERDAY = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)


def _at(session, run_ids, when: datetime) -> None:
    """Move runs into the seeded period."""
    session.execute(update(Run).where(col(Run.id).in_(run_ids)).values(finished_at=when))
    session.execute(
        update(WorkOrder)
        .where(col(WorkOrder.id).in_(session.exec(  # type: ignore[call-overload]
            Run.__table__.select().with_only_columns(Run.work_order_id)
            .where(col(Run.id).in_(run_ids))).scalars().all()))
        .values(last_activity=when)
    )  # fmt: skip
    session.commit()


def _succeed(session, workflow) -> object:
    run = factories.make_run(session, workflow).run
    transition(session, [run.id], RunState.CLAIMED, worker_name="w")
    transition(session, [run.id], RunState.STARTED)
    transition(session, [run.id], RunState.SUCCESS)
    return run.id


def _seed(session, project) -> None:
    intake = factories.make_workflow(session, project, name="intake")
    sync = factories.make_workflow(session, project, name="sync")
    ok = [_succeed(session, intake) for _ in range(3)] + [_succeed(session, sync)]
    bad = [fail_run(session, sync, message="HTTP 401 Unauthorized")[0] for _ in range(3)]
    bad += [fail_run(session, sync, error_type="TimeoutError", message="step timed out")[0]]
    bad += [fail_run(session, intake, state=RunState.CRASHED, error_type="SyntaxError",
                     message="Unexpected token")[0]]  # fmt: skip
    _at(session, ok + bad, YESTERDAY)
    old = fail_run(session, intake, message="last week")[0]  # outside the day
    _at(session, [old], YESTERDAY - timedelta(days=2))


def test_a_digest_counts_the_periods_runs_failures_and_top_errors(session, project) -> None:
    _seed(session, project)
    start, end = period_for(Digest.DAILY, NOW)
    assert (start, end) == (datetime(2026, 12, 8, tzinfo=UTC), datetime(2026, 12, 9, tzinfo=UTC))
    assert period_for(Digest.WEEKLY, NOW) == (
        datetime(2026, 11, 30, tzinfo=UTC),
        datetime(2026, 12, 7, tzinfo=UTC),
    )
    assert period_for(Digest.MONTHLY, NOW) == (
        datetime(2026, 11, 1, tzinfo=UTC),
        datetime(2026, 12, 1, tzinfo=UTC),
    )
    report = build_digest(session, project.id, start, end)
    assert report.runs == 9 and report.failures == 5
    assert report.by_state == {"success": 4, "failed": 4, "crashed": 1}
    assert [(w.name, w.runs, w.failures) for w in report.workflows] == [
        ("sync", 5, 4),
        ("intake", 4, 1),
    ]
    assert report.top_errors[0] == ("TypeError: HTTP 401 Unauthorized", 3)
    assert set(report.top_errors[1:]) == {
        ("TimeoutError: step timed out", 1),
        ("SyntaxError: Unexpected token", 1),
    }
    week = build_digest(session, project.id, *period_for(Digest.WEEKLY, NOW))
    # Monday 30 Nov to Monday 7 Dec: only the run of Sunday 6 Dec; the seeded day is this week.
    assert (week.runs, week.top_errors) == (1, [("TypeError: last week", 1)])


def test_members_get_the_digest_they_chose_once_per_period(session, user, project, mailbox) -> None:
    _seed(session, project)
    daily, never = factories.make_user(session), factories.make_user(session)
    for member, choice in ((daily, Digest.DAILY), (never, Digest.NEVER)):
        factories.add_member(session, project, member, Role.VIEWER)
        session.execute(
            update(ProjectUser).where(col(ProjectUser.user_id) == member.id).values(digest=choice)
        )
    session.commit()

    assert send_digests(NOW) == 2  # the daily member; the owner's default is weekly
    assert send_digests(NOW) == 0  # a second run of the flow sends nothing again
    assert mails_to(mailbox, never.email) == []
    (mail,) = mails_to(mailbox, daily.email)
    assert mail["Subject"] == f"[{project.name}] Daily digest 2026-12-08: 9 runs, 5 failed"
    body = text_of(mail)
    assert "Runs: 9 (4 success, 4 failed, 1 crashed)" in body
    assert "  sync: 5 / 4" in body and "  intake: 4 / 1" in body
    assert "  3 x TypeError: HTTP 401 Unauthorized" in body
    assert f"{BASE_URL}/projects/{project.id}/history?status=failed" in body
    (weekly,) = mails_to(mailbox, user.email)
    assert "Weekly digest 2026-11-30 to 2026-12-06: 1 run, 1 failed" in weekly["Subject"]
    assert "  1 x TypeError: last week" in text_of(weekly)
