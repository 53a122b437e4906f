"""Git sync against a local bare repository: push on change, pull outside commits, divergence."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import select
from typer.testing import CliRunner

from lightning_flows.cli.main import app
from lightning_flows.core.config import get_settings
from lightning_flows.projects.models import Project, Role
from lightning_flows.workflows.models import Job, WorkflowVersion
from tests import factories
from tests.support.projects import EXAMPLE, live_server, provision_yaml, state_of

WF = "OpenHIE-Workflow"
FHIR_FILE = f"workflows/{WF}/FHIR-standard-Data-with-change.js"
OUTSIDER = {"GIT_AUTHOR_NAME": "Outside Dev", "GIT_AUTHOR_EMAIL": "dev@example.org"}


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, **OUTSIDER, "GIT_COMMITTER_NAME": "Dev", "GIT_COMMITTER_EMAIL": "d@e.org"}
    result = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


@pytest.fixture
def remote(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setattr(get_settings(), "git_sync_allow_local_remotes", True)
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    return bare


@pytest.fixture
def linked(client: TestClient, auth: dict, remote: Path) -> dict:
    state = state_of(provision_yaml(client, auth))
    response = client.put(
        f"/api/projects/{state['id']}/repo",
        json={"remote_url": str(remote), "branch": "main"},
        headers=auth,
    )
    assert response.status_code == 200, response.text
    return {"state": state, "link": response.json(), "url": f"/api/projects/{state['id']}"}


def outside_clone(remote: Path, tmp_path: Path) -> Path:
    work = tmp_path / f"outside-{uuid.uuid4().hex[:6]}"
    subprocess.run(["git", "clone", "-q", str(remote), str(work)], check=True)
    return work


def test_link_pushes_the_project_and_every_save_is_a_commit(
    client: TestClient, auth: dict, user, remote: Path, linked: dict
) -> None:
    head = git(remote, "rev-parse", "main")
    assert linked["link"]["last_synced_commit"] == head
    assert linked["link"]["webhook_secret"] and linked["link"]["last_error"] is None
    assert git(remote, "log", "-1", "--format=%an <%ae>|%s") == (
        f"{user.email} <{user.email}>|Link project to this branch"
    )
    files = set(git(remote, "ls-tree", "-r", "--name-only", "main").splitlines())
    assert {"project.yaml", ".state.json", FHIR_FILE} <= files and len(files) == 6

    workflow = linked["state"]["workflows"][WF]
    url = f"{linked['url']}/workflows/{workflow['id']}"
    doc = client.get(url, headers=auth).json()
    doc["jobs"][0]["body"] = "fn(state => state); // saved in the app\n"
    assert client.put(url, json=doc, headers=auth).status_code == 200
    subject = git(remote, "log", "-1", "--format=%s")
    assert subject.startswith("Update workflow 'OpenHIE Workflow' (version ") and "app)" in subject
    changed = git(remote, "show", "--name-only", "--format=", "main").splitlines()
    assert ".state.json" in changed and any(f.endswith(".js") for f in changed)

    spec = EXAMPLE.replace("description: Receives", "description: Now receives")
    provision_yaml(client, auth, spec, id=linked["state"]["id"])
    assert git(remote, "log", "-1", "--format=%s") == (
        "Provision (api): project description; updated OpenHIE Workflow"
    )
    assert "description: Now receives" in git(remote, "show", "main:project.yaml")
    assert int(git(remote, "rev-list", "--count", "main")) == 3


def test_an_outside_commit_is_pulled_and_provisioned(
    client: TestClient, auth: dict, session, user, remote: Path, linked: dict, tmp_path: Path
) -> None:
    work = outside_clone(remote, tmp_path)
    (work / FHIR_FILE).write_text("fn(state => state); // edited in git\n")
    spec = yaml.safe_load((work / "project.yaml").read_text())
    workflow = spec["workflows"][WF]
    workflow["jobs"]["Notify-CHW-upload-failed"]["name"] = "Tell the CHW it failed"
    workflow["jobs"]["archive-it"] = {
        "name": "Archive it",
        "adaptor": "common",
        "body": "fn(s => s);",
    }
    workflow["edges"]["success->archive"] = {
        "source_job": "Notify-CHW-upload-successful",
        "target_job": "archive-it",
        "condition_type": "on_job_success",
    }
    (work / "project.yaml").write_text(yaml.safe_dump(spec))
    git(work, "commit", "-qam", "Edit jobs in git")
    git(work, "push", "-q")
    outside_head = git(work, "rev-parse", "HEAD")

    response = client.post(f"{linked['url']}/sync", headers=auth)
    assert response.status_code == 200, response.text
    assert response.json()["commit"] == outside_head
    assert response.json()["changed"] == {"updated": ["OpenHIE Workflow"]}
    session.expire_all()
    job_ids = linked["state"]["workflows"][WF]["jobs"]
    fhir = session.get(Job, uuid.UUID(job_ids["FHIR-standard-Data-with-change"]["id"]))
    assert fhir.body == "fn(state => state); // edited in git\n"
    renamed = session.get(Job, uuid.UUID(job_ids["Notify-CHW-upload-failed"]["id"]))
    assert renamed.name == "Tell the CHW it failed", "updated in place through the state ids"
    versions = session.exec(select(WorkflowVersion)).all()
    assert [v.source for v in versions] == ["cli", "cli"]

    head = git(remote, "rev-parse", "main")
    assert git(remote, "rev-parse", "main~1") == outside_head, "the new ids were pushed on top"
    assert git(remote, "log", "-1", "--format=%ae|%s", "main") == (
        f"{user.email}|Provision (git pull of {outside_head[:7]}): updated OpenHIE Workflow"
    )
    pushed = json.loads(git(remote, "show", "main:.state.json"))
    assert pushed["workflows"][WF]["jobs"]["archive-it"]["id"], "the outsider's keys are kept"
    assert "success->archive" in pushed["workflows"][WF]["edges"]
    assert client.get(f"{linked['url']}/repo", headers=auth).json()["last_synced_commit"] == head
    again = client.post(f"{linked['url']}/sync", headers=auth)
    assert again.json()["up_to_date"] is True
    assert len(session.exec(select(WorkflowVersion)).all()) == 2


def test_a_diverged_branch_is_refused(
    client: TestClient, auth: dict, session, remote: Path, linked: dict, tmp_path: Path
) -> None:
    work = outside_clone(remote, tmp_path)
    (work / FHIR_FILE).write_text("fn(state => state); // rewritten history\n")
    git(work, "commit", "-q", "--amend", "-am", "Rewrite the platform's commit")
    git(work, "push", "-q", "--force")

    response = client.post(f"{linked['url']}/sync", headers=auth)
    assert response.status_code == 409
    detail = response.json()["detail"]
    assert "has diverged from what Lightning Flows last pushed" in detail
    assert linked["link"]["last_synced_commit"][:7] in detail and "Nothing was changed" in detail
    assert len(session.exec(select(WorkflowVersion)).all()) == 1


def test_a_save_is_not_pushed_over_unpulled_commits(
    client: TestClient, auth: dict, remote: Path, linked: dict, tmp_path: Path
) -> None:
    work = outside_clone(remote, tmp_path)
    (work / "README.md").write_text("Outside change\n")
    git(work, "add", "README.md")
    git(work, "commit", "-qm", "Add a readme")
    git(work, "push", "-q")
    spec = EXAMPLE.replace("description: Receives", "description: Edited")
    provision_yaml(client, auth, spec, id=linked["state"]["id"])
    assert git(remote, "log", "-1", "--format=%s", "main") == "Add a readme"
    status = client.get(f"{linked['url']}/repo", headers=auth).json()
    assert "has commits Lightning Flows has not pulled" in status["last_error"]

    assert client.post(f"{linked['url']}/sync", headers=auth).status_code == 200
    assert client.get(f"{linked['url']}/repo", headers=auth).json()["last_error"] is None
    assert (remote / "refs").exists() and "README.md" in git(
        remote, "ls-tree", "--name-only", "main"
    )


def test_webhook_signature_and_link_validation(
    client: TestClient, auth: dict, session, linked: dict
) -> None:
    secret = linked["link"]["webhook_secret"]
    body = b'{"ref": "refs/heads/main"}'
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    signed = client.post(
        f"{linked['url']}/sync", content=body, headers={"X-Hub-Signature-256": signature}
    )
    assert signed.status_code == 200, signed.text
    forged = client.post(
        f"{linked['url']}/sync", content=body, headers={"X-Hub-Signature-256": "sha256=00"}
    )
    assert forged.status_code == 401
    assert client.post(f"{linked['url']}/sync", content=body).status_code == 401
    gitlab = client.post(f"{linked['url']}/sync", headers={"X-Gitlab-Token": secret})
    assert gitlab.status_code == 200

    for url in ("ext::sh -c touch% /tmp/pwned", "--upload-pack=evil", "http://example.org/r"):
        refused = client.put(f"{linked['url']}/repo", json={"remote_url": url}, headers=auth)
        assert refused.status_code == 422, url
    bad_branch = {"remote_url": "https://127.0.0.1:9/r.git", "branch": "--upload-pack=x"}
    assert client.put(f"{linked['url']}/repo", json=bad_branch, headers=auth).status_code == 422
    token = client.put(
        f"{linked['url']}/repo",
        json={
            "remote_url": "https://127.0.0.1:9/o/r.git",
            "auth_type": "token",
            "secret": "ghp_plain_s3cret",
        },
        headers=auth,
    )
    assert token.status_code == 200 and "secret" not in token.json()
    status = client.get(f"{linked['url']}/repo", headers=auth).json()
    assert status["has_secret"] is True and status["last_error"], "push failed, recorded"
    stored = session.exec(text("SELECT secret FROM project_repo_connections")).one()[0]
    assert stored.startswith("v1:") and "ghp_plain_s3cret" not in stored
    editor = factories.make_user(session)
    project = session.get(Project, uuid.UUID(linked["state"]["id"]))
    factories.add_member(session, project, editor, Role.EDITOR)
    headers = factories.auth_headers(session, editor)
    assert client.post(f"{linked['url']}/sync", headers=headers).status_code == 403


@pytest.mark.slow
def test_sync_pull_command(
    session, user, remote: Path, linked: dict, tmp_path: Path, monkeypatch
) -> None:
    with live_server() as url:
        monkeypatch.setenv("OPENFN_ENDPOINT", url)
        monkeypatch.setenv(
            "OPENFN_API_KEY", factories.auth_headers(session, user)["Authorization"][7:]
        )
        result = CliRunner().invoke(app, ["sync", "pull", linked["state"]["id"]])
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith("Already up to date with commit")
        work = outside_clone(remote, tmp_path)
        (work / FHIR_FILE).write_text("fn(s => s);\n")
        git(work, "commit", "-qam", "Edit")
        git(work, "push", "-q")
        result = CliRunner().invoke(app, ["sync", "pull", linked["state"]["id"]])
        assert "updated OpenHIE Workflow" in result.stdout
