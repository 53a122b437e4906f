"""Failure alerts: who is mailed, what the mail says, throttling, the outbox."""

from __future__ import annotations

import threading
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from lightning_flows.core.config import get_settings
from lightning_flows.core.timeutil import utcnow
from lightning_flows.notifications import dispatch
from lightning_flows.notifications.models import AlertOutbox
from lightning_flows.projects.models import Role
from lightning_flows.runs import takeover
from lightning_flows.runs.states import RunState
from lightning_flows.runs.transitions import transition
from tests import factories
from tests.notifications.conftest import BASE_URL, deliver, fail_run, mails_to, text_of


def test_a_failed_run_mails_subscribed_members_a_link_to_the_failed_step(
    client: TestClient, session, user, auth, project, mailbox
) -> None:
    quiet = factories.make_user(session)
    factories.add_member(session, project, quiet, Role.EDITOR)
    off = client.put(
        f"/api/projects/{project.id}/alerts",
        json={"enabled": False},
        headers=factories.auth_headers(session, quiet),
    )
    assert off.status_code == 200 and off.json()["enabled"] is False
    workflow = factories.make_workflow(session, project, name="Send to DHIS2", jobs=["map", "post"])

    run_id, step_id = fail_run(session, workflow)
    deliver()

    assert mails_to(mailbox, quiet.email) == []
    (mail,) = mails_to(mailbox, user.email)
    assert mail["Subject"] == f'[{project.name}] Run failed: "Send to DHIS2" at step "map"'
    body = text_of(mail)
    assert f"{BASE_URL}/projects/{project.id}/runs/{run_id}?step={step_id}" in body
    assert "Error: TypeError: Cannot read properties of undefined (reading 'id')" in body
    assert f'in the project "{project.name}" ended failed at step "map"' in body
    assert session.exec(select(AlertOutbox)).all() == []


def test_members_choose_some_workflows_or_the_whole_project(
    client: TestClient, session, user, auth, project, mailbox
) -> None:
    first = factories.make_workflow(session, project, name="first")
    second = factories.make_workflow(session, project, name="second")
    some = factories.make_user(session)
    factories.add_member(session, project, some, Role.VIEWER)
    chosen = client.put(
        f"/api/projects/{project.id}/alerts",
        json={"workflow_ids": [str(first.id)]},
        headers=factories.auth_headers(session, some),
    )
    assert chosen.json() == {"enabled": True, "workflow_ids": [str(first.id)], "digest": "weekly"}

    fail_run(session, second)
    deliver()
    assert len(mails_to(mailbox, user.email)) == 1  # the whole project (the default)
    assert mails_to(mailbox, some.email) == []

    fail_run(session, first)
    deliver()
    assert len(mails_to(mailbox, user.email)) == 2
    (mail,) = mails_to(mailbox, some.email)
    assert '"first"' in mail["Subject"]


def test_a_burst_of_failures_sends_three_mails_then_one_summary(
    session, user, project, mailbox
) -> None:
    workflow = factories.make_workflow(session, project, name="flaky")
    for i in range(20):
        message = "HTTP 503 from the registry" if i % 4 else "timeout"
        fail_run(session, workflow, error_type="HTTPError", message=message)
    deliver()
    assert len(mailbox.messages) == get_settings().alert_max_per_window == 3

    deliver(utcnow() + timedelta(minutes=30))  # the window is still open: nothing new
    assert len(mailbox.messages) == 3
    deliver(utcnow() + timedelta(hours=1, seconds=1))
    summary = mailbox.messages[3]
    assert summary["Subject"] == f'[{project.name}] 17 more runs of "flaky" failed'
    body = text_of(summary)
    assert '17 more runs of "flaky" failed in the last hour' in body
    assert "most common error: HTTPError: HTTP 503 from the registry" in body
    assert f"{BASE_URL}/projects/{project.id}/history?status=failed" in body
    assert len(mailbox.messages) == 4

    fail_run(session, workflow)  # a new window: mailed again at once
    deliver(utcnow() + timedelta(hours=1, seconds=2))
    assert len(mailbox.messages) == 5


def test_two_hundred_failures_send_a_handful_of_mails(session, user, project, mailbox) -> None:
    workflow = factories.make_workflow(session, project, name="broken")
    for _ in range(200):
        fail_run(session, workflow)
    deliver()
    deliver(utcnow() + timedelta(hours=1, seconds=1))
    subjects = [m["Subject"] for m in mailbox.messages]
    assert len(subjects) == 4
    assert subjects[-1] == f'[{project.name}] 197 more runs of "broken" failed'


def test_crashed_and_lost_runs_alert_too(session, user, project, mailbox) -> None:
    workflow = factories.make_workflow(session, project, name="fragile")
    fail_run(session, workflow, state=RunState.CRASHED, error_type="SyntaxError",
             message="Unexpected token (1:4)")  # fmt: skip
    lost = factories.make_run(session, workflow).run
    transition(session, [lost.id], RunState.CLAIMED, worker_name="gone-worker")
    session.expire_all()  # the sweep reads the run's state from the session
    takeover.sweep_overdue_runs(session, utcnow() + timedelta(seconds=1))  # the backstop
    deliver()
    subjects = sorted(m["Subject"] for m in mailbox.messages)
    assert subjects == [
        f'[{project.name}] Run crashed: "fragile" at step "a"',
        f'[{project.name}] Run lost: "fragile"',
    ]
    lost_body = text_of(next(m for m in mailbox.messages if "lost" in m["Subject"]))
    assert "Error: LostError" in lost_body


def test_a_run_ended_in_a_rolled_back_transaction_is_not_alerted(
    session, user, project, mailbox
) -> None:
    workflow = factories.make_workflow(session, project)
    run = factories.make_run(session, workflow).run
    transition(session, [run.id], RunState.CLAIMED, worker_name="w")
    transition(session, [run.id], RunState.STARTED)
    transition(session, [run.id], RunState.FAILED, commit=False)
    session.rollback()
    assert session.exec(select(AlertOutbox)).all() == []
    deliver()
    assert mailbox.messages == []


def test_without_a_mail_server_runs_still_end_and_the_outbox_empties(
    session, user, project, monkeypatch
) -> None:
    monkeypatch.setattr(get_settings(), "smtp_host", "127.0.0.1")
    monkeypatch.setattr(get_settings(), "smtp_port", 9)  # nothing listens there
    workflow = factories.make_workflow(session, project)
    fail_run(session, workflow)
    deliver()
    assert session.exec(select(AlertOutbox)).all() == []


def test_two_workers_draining_at_once_send_each_alert_once(
    session, user, project, mailbox, monkeypatch
) -> None:
    monkeypatch.setattr(get_settings(), "alert_max_per_window", 1000)
    workflows = [factories.make_workflow(session, project, name=f"wf{i}") for i in range(3)]
    runs = [fail_run(session, workflows[i % 3])[0] for i in range(30)]

    def worker() -> None:
        while True:
            try:
                if dispatch.drain_once(batch=4) == 0:
                    return
            except IntegrityError:  # both opened one throttle window: the batch comes back
                continue

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    links = sorted(
        next(line for line in text_of(m).splitlines() if "/runs/" in line).split("/runs/")[1][:36]
        for m in mailbox.messages
    )
    assert links == sorted(str(r) for r in runs)
