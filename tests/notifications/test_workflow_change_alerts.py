"""Workflow change alerts, delivered to a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from lightning_flows.core.config import get_settings
from lightning_flows.notifications import workflow_changes
from lightning_flows.projects.models import Project, Role
from tests import factories
from tests.support.projects import EXAMPLE, provision_yaml, state_of


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, _server, _session, envelope) -> str:  # aiosmtpd's hook name
        self.messages.append(
            (list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default))
        )
        return "250 Message accepted for delivery"


@pytest.fixture
def inbox(monkeypatch) -> Iterator[_Inbox]:
    handler = _Inbox()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings = get_settings()
    monkeypatch.setattr(settings, "smtp_host", "127.0.0.1")
    monkeypatch.setattr(settings, "smtp_port", port)
    monkeypatch.setattr(settings, "smtp_security", "none")
    monkeypatch.setattr(settings, "base_url", "https://flows.example.org")
    try:
        yield handler
    finally:
        controller.stop()


def test_members_who_opted_in_get_who_what_and_a_link(
    client: TestClient, auth: dict, session, user, inbox: _Inbox
) -> None:
    state = state_of(provision_yaml(client, auth))
    project_id = state["id"]
    project = session.get(Project, uuid.UUID(project_id))
    watcher, quiet = factories.make_user(session), factories.make_user(session)
    for member in (watcher, quiet):
        factories.add_member(session, project, member, Role.VIEWER)
    opt_in = client.put(
        f"/api/projects/{project_id}/notifications",
        json={"workflow_change_alert": True},
        headers=factories.auth_headers(session, watcher),
    )
    assert opt_in.status_code == 200 and opt_in.json() == {"workflow_change_alert": True}
    mine = client.get(f"/api/projects/{project_id}/notifications", headers=auth).json()
    assert mine == {"workflow_change_alert": False}

    changed = EXAMPLE.replace("fn(state => state);", "fn(state => ({ ...state, sent: true }));", 1)
    assert provision_yaml(client, auth, changed, id=project_id).status_code == 201
    workflow_changes.wait_for_pending()
    ((recipients, mail),) = inbox.messages
    assert recipients == [watcher.email]
    assert mail["Subject"].strip() == (
        f'[openhie-project] {user.email} changed workflow "OpenHIE Workflow"'
    )
    body = mail.get_content().replace("\r\n", "\n")
    assert f'{user.email} changed the workflow "OpenHIE Workflow"' in body
    assert "from the command line / API): ~1 job" in body
    assert '~ job "Send to OpenHIM to route to SHR"' in body
    assert "+fn(state => ({ ...state, sent: true }));" in body
    workflow_id = state["workflows"]["OpenHIE-Workflow"]["id"]
    assert f"https://flows.example.org/projects/{project_id}/w/{workflow_id}/history?to=" in body

    inbox.messages.clear()
    watcher_headers = factories.auth_headers(session, watcher)
    client.put(f"/api/projects/{project_id}/notifications", json={"workflow_change_alert": False},
               headers=watcher_headers)  # fmt: skip
    provision_yaml(client, auth, EXAMPLE, id=project_id)
    workflow_changes.wait_for_pending()
    assert inbox.messages == []


def test_no_mail_server_means_no_alert_and_saves_still_work(
    client: TestClient, auth: dict, session, project, monkeypatch
) -> None:
    monkeypatch.setattr(get_settings(), "smtp_host", "127.0.0.1")
    monkeypatch.setattr(get_settings(), "smtp_port", 9)  # nothing listens there
    client.put(f"/api/projects/{project.id}/notifications", json={"workflow_change_alert": True},
               headers=auth)  # fmt: skip
    other = factories.make_user(session)
    factories.add_member(session, project, other, Role.ADMIN)
    doc = factories.workflow_doc().model_dump(mode="json")
    response = client.post(
        f"/api/projects/{project.id}/workflows", json=doc,
        headers=factories.auth_headers(session, other),
    )  # fmt: skip
    assert response.status_code == 201
    workflow_changes.wait_for_pending()
