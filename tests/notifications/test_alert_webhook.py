"""The project's alert webhook: a JSON POST per alert, retried, throttled like the mails."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import select

from lightning_flows.core.config import get_settings
from lightning_flows.core.timeutil import utcnow
from lightning_flows.notifications import webhook
from lightning_flows.notifications.models import AlertWebhook
from lightning_flows.projects.models import Role
from tests import factories
from tests.notifications.conftest import BASE_URL, deliver, fail_run
from tests.support.http_server import Received, local_http_server


def test_the_webhook_gets_the_alert_as_json_and_is_retried_after_a_500(
    client: TestClient, session, auth, project, monkeypatch
) -> None:
    monkeypatch.setattr(webhook, "BACKOFF_SECONDS", 0.1)
    monkeypatch.setattr(get_settings(), "base_url", BASE_URL)
    answers = iter([500, 200])
    with local_http_server() as server:
        server.route("POST", "/hooks/abc", lambda _got: (next(answers), {}))
        secret_url = f"{server.url}/hooks/abc?token=s3cr3t"
        saved = client.put(
            f"/api/projects/{project.id}/alert_webhook", json={"url": secret_url}, headers=auth
        )
        assert saved.status_code == 200
        assert saved.json() == {"configured": True, "url_hint": "http://127.0.0.1/…"}
        assert (
            "s3cr3t"
            not in client.get(f"/api/projects/{project.id}/alert_webhook", headers=auth).text
        )
        stored = session.connection().exec_driver_sql("SELECT url FROM alert_webhooks").scalar()
        assert "s3cr3t" not in stored  # encrypted at rest

        workflow = factories.make_workflow(session, project, name="to-chat")
        run_id, step_id = fail_run(session, workflow, message="boom")
        deliver()

    posts: list[Received] = [r for r in server.received if r.path.startswith("/hooks/abc")]
    assert len(posts) == 2  # the 500, then the retry
    assert posts[0].body == posts[1].body
    body = posts[1].body
    assert body["type"] == "run_failed"
    assert body["project_name"] == project.name and body["workflow_name"] == "to-chat"
    assert body["run_id"] == str(run_id) and body["state"] == "failed"
    assert body["step_name"] == "a" and body["error"] == "TypeError: boom"
    assert body["url"] == f"{BASE_URL}/projects/{project.id}/runs/{run_id}?step={step_id}"
    assert "s3cr3t" not in str(body) and "configuration" not in str(body)


def test_a_webhook_that_keeps_failing_is_tried_three_times_then_given_up(
    client: TestClient, session, auth, project, monkeypatch
) -> None:
    monkeypatch.setattr(webhook, "BACKOFF_SECONDS", 0.05)
    with local_http_server() as server:
        server.route("POST", "/down", lambda _got: (503, {}))
        client.put(f"/api/projects/{project.id}/alert_webhook", json={"url": f"{server.url}/down"},
                   headers=auth)  # fmt: skip
        workflow = factories.make_workflow(session, project)
        fail_run(session, workflow)
        deliver()
        assert server.hits("/down") == 3


def test_webhook_alerts_are_throttled_and_summarised(
    client: TestClient, session, auth, project, monkeypatch
) -> None:
    with local_http_server() as server:
        client.put(f"/api/projects/{project.id}/alert_webhook", json={"url": f"{server.url}/h"},
                   headers=auth)  # fmt: skip
        workflow = factories.make_workflow(session, project, name="noisy")
        for _ in range(10):
            fail_run(session, workflow)
        deliver()
        assert server.hits("/h") == 3
        deliver(utcnow() + timedelta(hours=1, seconds=1))
        summary = server.received[-1].body
    assert summary["type"] == "run_failures_summary"
    assert summary["count"] == 7 and summary["workflow_name"] == "noisy"
    assert summary["most_common_error"].startswith("TypeError: Cannot read properties")


def test_only_admins_set_the_webhook_and_only_http_urls(
    client: TestClient, session, auth, project
) -> None:
    editor = factories.make_user(session)
    factories.add_member(session, project, editor, Role.EDITOR)
    url = f"/api/projects/{project.id}/alert_webhook"
    refused = client.put(url, json={"url": "https://chat.example.org/x"},
                         headers=factories.auth_headers(session, editor))  # fmt: skip
    assert refused.status_code == 403
    bad = client.put(url, json={"url": "ftp://chat.example.org/x"}, headers=auth)
    assert bad.status_code == 422 and "http://" in bad.json()["detail"]
    assert (
        client.put(url, json={"url": "https://chat.example.org/x"}, headers=auth).status_code == 200
    )
    assert client.delete(url, headers=auth).status_code == 204
    assert client.get(url, headers=auth).json() == {"configured": False, "url_hint": None}
    assert session.exec(select(AlertWebhook)).all() == []
