"""A local SMTP server the platform mails to, and helpers that end runs for real."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from email.message import Message

import pytest
from sqlmodel import Session

from lightning_flows.core.config import get_settings
from lightning_flows.notifications import dispatch, webhook
from lightning_flows.runs import service as runs
from lightning_flows.runs.models import Step
from lightning_flows.runs.states import RunState
from lightning_flows.runs.transitions import transition
from lightning_flows.workflows.schemas import WorkflowPublic
from tests import factories
from tests.support.smtp_server import Mailbox, local_smtp_server

BASE_URL = "https://flows.example.org"


@pytest.fixture
def mailbox(monkeypatch) -> Iterator[Mailbox]:
    with local_smtp_server() as box:
        settings = get_settings()
        monkeypatch.setattr(settings, "smtp_host", box.host)
        monkeypatch.setattr(settings, "smtp_port", box.port)
        monkeypatch.setattr(settings, "smtp_security", "none")
        monkeypatch.setattr(settings, "base_url", BASE_URL)
        yield box


def fail_run(
    session: Session,
    workflow: WorkflowPublic,
    *,
    state: RunState = RunState.FAILED,
    error_type: str = "TypeError",
    message: str = "Cannot read properties of undefined (reading 'id')",
) -> tuple[uuid.UUID, uuid.UUID]:
    """A run of `workflow` whose first step failed, ended `state` through the platform's
    one transition function; returns (run id, step id)."""
    run = factories.make_run(session, workflow).run
    transition(session, [run.id], RunState.CLAIMED, worker_name="test-worker")
    transition(session, [run.id], RunState.STARTED)
    step = Step(
        run_id=run.id,
        job_id=workflow.jobs[0].id,
        exit_reason="fail" if state == RunState.FAILED else "crash",
        error_type=error_type,
        error_message=message,
    )
    session.add(step)
    session.commit()
    assert runs.finish_run(session, run.id, state, error_type=error_type)
    return run.id, step.id


def deliver(now: datetime | None = None) -> None:
    """Drain the outbox as a worker does, and wait for the webhook posts."""
    while dispatch.drain_once(now) >= dispatch.BATCH:
        pass
    webhook.wait_for_pending()


def mails_to(box: Mailbox, email: str) -> list[Message]:
    return [m for m in box.messages if m["To"] == email]


def text_of(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode().replace("\r\n", "\n")
