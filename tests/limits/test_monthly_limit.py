"""Monthly run limits: superuser-only settings, exactly the limit accepted under load,
nothing stored for a refused request, one email at 80% and one at 100%."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from lightning_flows.core.config import reset_settings
from lightning_flows.limits import service as limits
from lightning_flows.projects.models import Project, Role
from lightning_flows.runs.models import Dataclip, Run, WorkOrder
from lightning_flows.webhooks.lookup import clear_cache
from tests import factories
from tests.support.smtp_server import Mailbox, local_smtp_server
from tests.support.web import sign_in


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    clear_cache()
    limits._limits.clear()
    yield
    clear_cache()
    limits._limits.clear()


@pytest.fixture
def mailbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    with local_smtp_server() as box:
        monkeypatch.setenv("LIGHTNING_SMTP_HOST", box.host)
        monkeypatch.setenv("LIGHTNING_SMTP_PORT", str(box.port))
        reset_settings()
        yield box
    monkeypatch.undo()
    reset_settings()


def _count(session: Session, model) -> int:
    session.expire_all()
    return session.exec(select(func.count()).select_from(model)).one()


def test_only_a_superuser_sets_usage_limits(client: TestClient, session: Session, project, auth):
    url = f"/api/projects/{project.id}"
    refused = client.patch(url, json={"run_limit_per_month": 10}, headers=auth)
    assert refused.status_code == 403 and "run_limit_per_month" in refused.json()["detail"]
    root = factories.auth_headers(session, factories.make_user(session, superuser=True))
    done = client.patch(
        url, json={"run_limit_per_month": 10, "max_concurrent_runs": 2}, headers=root
    )
    assert done.status_code == 200, done.text
    assert (done.json()["run_limit_per_month"], done.json()["max_concurrent_runs"]) == (10, 2)
    too_long = client.patch(url, json={"step_timeout_seconds": 10**6}, headers=auth)
    assert too_long.status_code == 422 and "step_timeout_seconds" in too_long.text
    shorter = client.patch(url, json={"step_timeout_seconds": 5}, headers=auth)
    assert shorter.status_code == 200 and shorter.json()["step_timeout_seconds"] == 5


def test_the_monthly_limit_reached_mid_load(
    client: TestClient, session: Session, project, user, auth, mailbox: Mailbox
) -> None:
    admin = factories.make_user(session, email="admin@example.org")
    factories.add_member(session, project, admin, Role.ADMIN)
    factories.add_member(session, project, factories.make_user(session), Role.EDITOR)
    root = factories.auth_headers(session, factories.make_user(session, superuser=True))
    limit = client.patch(
        f"/api/projects/{project.id}", json={"run_limit_per_month": 10}, headers=root
    )
    assert limit.status_code == 200
    wf = factories.make_workflow(session, project, jobs=["a"], custom_path="limited")

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda i: client.post("/i/limited", json={"n": i}), range(16)))

    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] * 10 + [429] * 6, "exactly the limit accepted"
    refused = next(a for a in answers if a.status_code == 429)
    assert int(refused.headers["retry-after"]) > 0
    assert "10 runs for this month" in refused.json()["detail"]
    assert (_count(session, WorkOrder), _count(session, Run), _count(session, Dataclip)) == (
        10,
        10,
        10,
    ), "a refused request stores nothing"

    manual = client.post(f"/api/workflows/{wf.id}/runs", json={"body": {}}, headers=auth)
    assert manual.status_code == 429 and manual.json()["detail"] == refused.json()["detail"]
    assert "retry-after" in manual.headers
    assert _count(session, WorkOrder) == 10

    deadline = time.monotonic() + 10
    while len(mailbox.messages) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # nothing more arrives
    sent = sorted((m["To"], m["Subject"]) for m in mailbox.messages)
    owners = sorted([user.email, admin.email])
    assert [to for to, _ in sent] == sorted(owners * 2), "owners and admins, not editors"
    assert sum("80%" in subject for _, subject in sent) == 2
    assert sum("limit reached" in subject for _, subject in sent) == 2

    sign_in(client, user.email, factories.PASSWORD)
    page = client.get(f"/projects/{project.id}")
    assert page.status_code == 200
    assert "10 / 10" in page.text and "Limit reached" in page.text


def test_max_concurrent_runs_bounds_the_claims(session: Session, project, monkeypatch) -> None:
    from lightning_flows.runs.queue import claim_runs

    wf = factories.make_workflow(session, project, jobs=["a"])
    for _ in range(3):
        factories.make_run(session, wf, {})
    row = session.get(Project, project.id)
    row.max_concurrent_runs = 2
    session.add(row)
    session.commit()
    assert len(claim_runs(session, 10, "w1")) == 2
    assert claim_runs(session, 10, "w2") == [], "two are running already"

    monkeypatch.setenv("LIGHTNING_PROJECT_MAX_CONCURRENT_RUNS", "1")
    reset_settings()
    try:
        assert limits.concurrency_limit(None, 2) == 1, "the instance maximum is tighter"
    finally:
        monkeypatch.undo()
        reset_settings()


def test_a_request_that_could_not_be_stored_gives_its_slot_back(
    client: TestClient, session: Session, project, monkeypatch
) -> None:
    from lightning_flows.limits.models import ProjectUsage
    from lightning_flows.runs import intake

    row = session.get(Project, project.id)
    row.run_limit_per_month = 3
    session.add(row)
    session.commit()
    factories.make_workflow(session, project, jobs=["a"], custom_path="flaky-db")

    class Down:
        async def accept(self, *_args, **_kwargs):
            raise intake.IntakeUnavailable()

    monkeypatch.setattr(intake, "get_writer", lambda: Down())
    assert client.post("/i/flaky-db", json={}).status_code == 503
    session.expire_all()
    usage = session.get(ProjectUsage, (project.id, limits.month_of()))
    assert usage is not None and usage.runs == 0, "the slot was given back"
