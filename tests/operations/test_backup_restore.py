"""docs/operations.md, followed to the letter: `pg_dump` of a running instance under webhook
load, restored into a new database, a second instance on it with the same key (history there,
a run using a credential succeeds, runs unfinished at the dump finish), then the encryption
key rotated on that data while webhooks keep arriving."""

from __future__ import annotations

import os
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlmodel import Session, col, func, select

from lightning_flows.core.crypto import generate_key
from lightning_flows.runs.models import Run, Step
from lightning_flows.workflows.schemas import WorkflowDocument
from tests import factories
from tests.support.processes import CLI, platform_environment, process, wait_healthy

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.environ.get("LIGHTNING_TEST_DATABASE_URL"),
        reason="backups are pg_dump/pg_restore of PostgreSQL (LIGHTNING_TEST_DATABASE_URL)",
    ),
]
SECRET = "s3cret-of-the-clinic"
# Fails unless the credential reached the step decrypted.
USES_CREDENTIAL = (
    "fn(state => { if (state.configuration.password !== '" + SECRET + "') "
    "throw new Error('the credential was not usable'); return { ...state, data: { ok: true } }; });"
)


def libpq(url: str) -> str:
    """The URL as pg_dump/pg_restore take it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class Sender:
    """Posts webhooks at a steady pace in a thread; keeps the acknowledged run ids."""

    def __init__(self, url: str, rate: float = 15.0) -> None:
        self.url, self.interval = url, 1 / rate
        self.acknowledged: list[uuid.UUID] = []
        self.failed: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> Sender:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        with httpx.Client(timeout=10) as http:
            n = 0
            while not self._stop.wait(self.interval):
                n += 1
                try:
                    answer = http.post(self.url, json={"n": n})
                except httpx.HTTPError as exc:
                    self.failed.append(repr(exc))
                    continue
                if answer.status_code == 200:
                    self.acknowledged.append(uuid.UUID(answer.json()["run_id"]))
                else:
                    self.failed.append(f"{answer.status_code} {answer.text[:200]}")


@contextmanager
def instance(env: dict[str, str], **overrides: str) -> Iterator[str]:
    """`lightning-flows up` (API + worker) on `env`; yields its base URL."""
    url = f"http://127.0.0.1:{env['LIGHTNING_PORT']}"
    with process([*CLI, "up"], {**env, **overrides}) as up:
        wait_healthy(url, timeout=120, proc=up)
        yield url


def wait_all_succeeded(engine, ids: list[uuid.UUID], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    with Session(engine) as session:
        while True:
            states = dict(session.exec(select(Run.id, Run.state).where(col(Run.id).in_(ids))).all())
            if len(states) == len(ids) and set(states.values()) <= {"success"}:
                return
            if time.monotonic() > deadline:
                left = {str(k): v for k, v in states.items() if v != "success"}
                missing = len(ids) - len(states)
                raise AssertionError(f"{missing} missing, not succeeded: {left}")
            session.rollback()
            time.sleep(0.3)


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_backup_of_a_running_instance_restores_into_a_working_one_then_the_key_rotates(
    tmp_path: Path, prefect_server: str
) -> None:
    shared = {
        "PREFECT_API_URL": prefect_server,
        "LIGHTNING_PREFECT_SYNC": "true",
        "LIGHTNING_NODE_POOL_SIZE": "2",
        "LIGHTNING_WORKER_HEARTBEAT_SECONDS": "1",
        "LIGHTNING_WORKER_DEAD_AFTER_SECONDS": "5",
    }
    old_key = os.environ["LIGHTNING_ENCRYPTION_KEY"]  # the test process writes with it too
    dump = tmp_path / "lightning.dump"
    with (
        platform_environment(tmp_path / "a", **shared) as env_a,
        platform_environment(tmp_path / "b", **shared) as env_b,
    ):
        engine_a = create_engine(env_a["LIGHTNING_DATABASE_URL"])
        # -- the running instance: history, a credential, webhooks arriving during the dump
        with instance(env_a) as url_a:
            with Session(engine_a, expire_on_commit=False) as session:
                owner = factories.make_user(session)
                auth = factories.auth_headers(session, owner)
                project = factories.make_project(session, owner=owner)
                cred = factories.make_credential(session, project, {"password": SECRET})
                doc = factories.workflow_doc(jobs={"check": USES_CREDENTIAL})
                doc = WorkflowDocument.model_validate(
                    {
                        **doc.model_dump(),
                        "jobs": [
                            {**j.model_dump(), "project_credential_id": cred} for j in doc.jobs
                        ],
                    }
                )
                workflow = factories.make_workflow(session, project, doc)
            hook = f"/i/{workflow.triggers[0].id}"
            with Sender(url_a + hook) as sender:
                while len(sender.acknowledged) < 10:
                    time.sleep(0.1)
                acknowledged_before_dump = list(sender.acknowledged)
                done = subprocess.run(
                    ["pg_dump", "--format=custom", f"--file={dump}",
                     libpq(env_a["LIGHTNING_DATABASE_URL"])],
                    capture_output=True, text=True, timeout=120, check=False,
                )  # fmt: skip
                assert done.returncode == 0, done.stderr
                time.sleep(0.5)
            assert sender.failed == []
            wait_all_succeeded(engine_a, acknowledged_before_dump[:5])
        engine_a.dispose()

        # -- restore into a new database; a second instance with the same key
        restored = env_b["LIGHTNING_DATABASE_URL"]
        done = subprocess.run(
            ["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={libpq(restored)}",
             str(dump)],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        engine_b = create_engine(restored)
        with instance(env_b) as url_b:
            history = httpx.get(
                f"{url_b}/api/projects/{project.id}/work_orders",
                params={"page_size": 100},
                headers=auth,
                timeout=10,
            )
            assert history.status_code == 200, history.text
            listed = {r["id"] for w in history.json()["items"] for r in w["runs"]}
            assert len(listed) >= 10
            # Runs acknowledged before the dump all finish here, some left unfinished by A.
            wait_all_succeeded(engine_b, acknowledged_before_dump)
            fresh = httpx.post(url_b + hook, json={"after": "restore"}, timeout=10)
            assert fresh.status_code == 200, fresh.text
            wait_all_succeeded(engine_b, [uuid.UUID(fresh.json()["run_id"])])

        # -- key rotation on the same data: every process accepts both keys and writes with
        # the new one, `credentials reencrypt` runs while webhooks arrive, then the old key goes.
        new_key = generate_key()
        rotating = {**env_b, "LIGHTNING_ENCRYPTION_KEY": new_key,
                    "LIGHTNING_ENCRYPTION_OLD_KEYS": old_key}  # fmt: skip
        with instance(rotating) as url_b, Sender(url_b + hook, rate=10) as sender:
            while len(sender.acknowledged) < 5:
                time.sleep(0.1)
            done = cli(rotating, "credentials", "reencrypt")
            assert done.returncode == 0, done.stderr
            assert "credentials.body: 1 re-encrypted" in done.stdout
            time.sleep(1)
            sender.__exit__()
            assert sender.failed == []
            wait_all_succeeded(engine_b, sender.acknowledged)
            # Nothing needs the old key any more: it can leave the configuration.
            only_new = {**env_b, "LIGHTNING_ENCRYPTION_KEY": new_key}
            checked = cli(only_new, "credentials", "check-key")
            assert checked.returncode == 0, checked.stderr
            after = httpx.post(url_b + hook, json={"after": "rotation"}, timeout=10)
            assert after.status_code == 200, after.text
            wait_all_succeeded(engine_b, [uuid.UUID(after.json()["run_id"])])
        # The old key no longer opens anything.
        refused = cli({**env_b, "LIGHTNING_ENCRYPTION_KEY": old_key}, "credentials", "check-key")
        assert refused.returncode == 1 and "cannot decrypt" in refused.stderr

        with Session(engine_b) as session:
            twice = session.exec(
                select(Step.run_id, Step.job_id, func.count())
                .where(Step.exit_reason == "success")
                .group_by(Step.run_id, Step.job_id)
                .having(func.count() > 1)
            ).all()
        assert twice == [], "a job of a run succeeded twice"
        engine_b.dispose()
