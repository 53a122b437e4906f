"""End to end: a run failing on a real worker mails its subscribers and posts the alert
webhook; the digest deployment runs on the worker like the other maintenance flows."""

from __future__ import annotations

import time
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from lightning_flows.engine.prefect.client import prefect_client
from lightning_flows.maintenance import deployment
from lightning_flows.projects.models import Role
from tests import factories
from tests.notifications.conftest import BASE_URL, mails_to, text_of
from tests.support.http_server import local_http_server
from tests.support.runs import steps_of, wait_for_run
from tests.support.smtp_server import Mailbox

pytestmark = pytest.mark.slow
BROKEN = "fn(s => { s.data.patient.name.toUpperCase(); return s; });"


def _wait(condition, what: str, timeout: float = 45) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout}s")
        time.sleep(0.1)


def test_a_run_failing_on_the_worker_mails_its_subscribers_and_posts_the_webhook(
    client: TestClient, session: Session, user, auth, project, mailbox: Mailbox, worker
) -> None:
    workflow = factories.make_workflow(
        session, project, name="Register patient", jobs={"prepare": "fn(s => s);", "map": BROKEN}
    )
    quiet = factories.make_user(session)
    factories.add_member(session, project, quiet, Role.EDITOR)
    client.put(f"/api/projects/{project.id}/alerts", json={"enabled": False},
               headers=factories.auth_headers(session, quiet))  # fmt: skip
    with local_http_server() as chat:
        client.put(f"/api/projects/{project.id}/alert_webhook", json={"url": f"{chat.url}/chat"},
                   headers=auth)  # fmt: skip
        answer = client.post(f"/i/{workflow.triggers[0].id}", json={"patient": {}})
        assert answer.status_code == 200
        run = wait_for_run(session, uuid.UUID(answer.json()["run_id"]))
        assert run.state == "failed"
        failed = next(s for s in steps_of(session, run.id) if s.exit_reason == "fail")

        _wait(lambda: mails_to(mailbox, user.email), "the failure alert was not mailed")
        _wait(lambda: chat.hits("/chat") == 1, "the alert webhook was not posted")
        posted = chat.received[0].body

    (mail,) = mails_to(mailbox, user.email)
    assert mail["Subject"] == f'[{project.name}] Run failed: "Register patient" at step "map"'
    body = text_of(mail)
    assert f"{BASE_URL}/projects/{project.id}/runs/{run.id}?step={failed.id}" in body
    assert "Error: TypeError: " in body  # the step's own error, scrubbed by the engine
    assert mails_to(mailbox, quiet.email) == []
    assert posted["run_id"] == str(run.id) and posted["step_id"] == str(failed.id)
    assert posted["state"] == "failed" and posted["workflow_name"] == "Register patient"


def test_the_digest_deployment_runs_on_the_worker(
    session: Session, user, project, mailbox: Mailbox, worker
) -> None:
    deployment_id = deployment.ensure_digest_deployment()
    dep = prefect_client().read_deployment(deployment_id)
    assert dep.name == "digests" and dep.schedules and dep.schedules[0].active
    flow_run = prefect_client().create_flow_run_from_deployment(deployment_id)

    def finished() -> bool:
        state = prefect_client().read_flow_run(flow_run.id).state
        return state is not None and state.is_final()

    _wait(finished, "the digest flow run did not finish", timeout=90)
    assert prefect_client().read_flow_run(flow_run.id).state.is_completed()
    (digest,) = mails_to(mailbox, user.email)  # the owner's default: weekly
    assert f"[{project.name}] Weekly digest" in digest["Subject"]
