"""`lightning-flows deploy` / `pull` against a real API server on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from lightning_flows.cli.main import app
from tests import factories
from tests.support.projects import EXAMPLE, live_server

runner = CliRunner()
WF = "OpenHIE-Workflow"


@pytest.fixture
def server() -> Iterator[str]:
    with live_server() as url:
        yield url


def _config(tmp_path: Path, url: str, token: str, folder: str = "repo") -> Path:
    directory = tmp_path / folder
    directory.mkdir(exist_ok=True)
    config = {
        "endpoint": url,
        "apiKey": token,
        "specPath": str(directory / "project.yaml"),
        "statePath": str(directory / ".state.json"),
    }
    path = tmp_path / f"{folder}.json"
    path.write_text(json.dumps(config))
    return path


def _token(session, user) -> str:
    return factories.auth_headers(session, user)["Authorization"].removeprefix("Bearer ")


def invoke(*args: str | Path, input: str | None = None) -> Result:
    return runner.invoke(app, [str(a) for a in args], input=input)


@pytest.mark.slow
def test_deploy_shows_the_diff_and_asks(tmp_path: Path, server: str, session, user) -> None:
    config = _config(tmp_path, server, _token(session, user))
    spec = tmp_path / "repo" / "project.yaml"
    spec.write_text(EXAMPLE)

    first = invoke("deploy", "-c", config, input="y\n")
    assert first.exit_code == 0, first.output
    assert 'New project "openhie-project":' in first.stdout
    assert '+ workflow "OpenHIE Workflow"' in first.stdout
    assert '  + job "FHIR standard Data with change"' in first.stdout
    assert '  + edge "Send to OpenHIM to route to SHR -> Notify CHW upload failed"' in first.stdout
    assert "Deploy these changes? [y/N]" in first.stdout
    state = json.loads((tmp_path / "repo" / ".state.json").read_text())
    assert "Deployed project" in first.stdout and state["id"] in first.stdout

    edited = EXAMPLE.replace("console.log('hello github integration');", "console.log('v2');")
    edited = (
        edited[: edited.index("      Notify-CHW-upload-failed:")]
        + edited[edited.index("    triggers:") :]
    )
    edited = edited[
        : edited.index("      Send-to-OpenHIM-to-route-to-SHR->Notify-CHW-upload-failed")
    ]
    spec.write_text(edited)
    declined = invoke("deploy", "-c", config, input="n\n")
    assert declined.exit_code == 0, declined.output
    assert "Nothing deployed." in declined.stdout
    assert '  - job "Notify CHW upload failed"' in declined.stdout
    assert "-  console.log('hello github integration');" in declined.stdout
    assert "+  console.log('v2');" in declined.stdout

    applied = invoke("deploy", "-c", config, "--no-confirm")
    assert applied.exit_code == 0, applied.output
    new_state = json.loads((tmp_path / "repo" / ".state.json").read_text())
    assert len(new_state["workflows"][WF]["jobs"]) == 3
    assert new_state["workflows"][WF]["id"] == state["workflows"][WF]["id"]
    again = invoke("deploy", "-c", config)
    assert again.exit_code == 0 and 'No changes to project "openhie-project".' in again.stdout


@pytest.mark.slow
def test_pull_writes_spec_state_and_bodies_byte_stable(
    tmp_path: Path, server: str, session, user, client, auth
) -> None:
    from tests.support.projects import provision_yaml

    project_id = provision_yaml(client, auth).json()["data"]["id"]
    config = _config(tmp_path, server, _token(session, user), "pulled")
    first = invoke("pull", project_id, "-c", config)
    assert first.exit_code == 0, first.output
    directory = tmp_path / "pulled"
    job_file = directory / "workflows" / WF / "FHIR-standard-Data-with-change.js"
    assert "hello github integration" in job_file.read_text()
    spec_text = (directory / "project.yaml").read_text()
    assert f"path: ./workflows/{WF}/FHIR-standard-Data-with-change.js" in spec_text
    snapshot = {p: p.read_bytes() for p in directory.rglob("*") if p.is_file()}
    assert len(snapshot) == 6, sorted(map(str, snapshot))
    second = invoke("pull", project_id, "-c", config)
    assert second.exit_code == 0
    assert {p: p.read_bytes() for p in directory.rglob("*") if p.is_file()} == snapshot
    unchanged = invoke("deploy", "-c", config)
    assert unchanged.exit_code == 0 and "No changes" in unchanged.stdout, unchanged.output


def test_deploy_errors_are_clear(tmp_path: Path, session, user, client, auth, monkeypatch) -> None:
    config = _config(tmp_path, "http://127.0.0.1:9", "not-a-token")
    spec = tmp_path / "repo" / "project.yaml"
    missing = invoke("deploy", "-c", config)
    assert missing.exit_code == 2 and "Cannot read the spec" in missing.stderr
    spec.write_text(EXAMPLE)
    unreachable = invoke("deploy", "-c", config)
    assert unreachable.exit_code == 1 and "Cannot reach http://127.0.0.1:9" in unreachable.stderr
    monkeypatch.setenv("OPENFN_API_KEY", "")
    no_key = invoke("deploy", "--spec", spec)
    assert no_key.exit_code == 1 and "No API key" in no_key.stderr


@pytest.mark.slow
def test_server_refusals_and_environment(
    tmp_path: Path, server: str, session, user, monkeypatch
) -> None:
    spec = tmp_path / "project.yaml"
    spec.write_text(EXAMPLE.replace("target_job: Notify-CHW-upload-failed", "target_job: Nope"))
    monkeypatch.setenv("OPENFN_ENDPOINT", server)
    monkeypatch.setenv("OPENFN_API_KEY", _token(session, user))
    result = invoke("deploy", "--spec", spec, "--state", tmp_path / "state.json")
    assert result.exit_code == 1
    assert (
        "workflows.OpenHIE-Workflow.edges.Send-to-OpenHIM-to-route-to-SHR->"
        "Notify-CHW-upload-failed.target_job: unknown job 'Nope' (HTTP 422)"
    ) in result.stderr
