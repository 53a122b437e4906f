"""`lightning-flows test` and test cases in project.yaml, against a real API server and
the real Node runtime: deploy, run (exit 0, then 1 with a diff), pull round trip."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner, Result

from lightning_flows.cli.main import app
from tests import factories
from tests.support.projects import live_server

pytestmark = pytest.mark.slow
runner = CliRunner()

SPEC = """\
name: shop
workflows:
  orders:
    name: orders
    jobs:
      double:
        name: double
        adaptor: '@openfn/language-common@3.3.4'
        body: |
          fn(state => ({ ...state, data: { id: state.data.id, double: state.data.id * 2 } }));
    triggers:
      webhook:
        type: webhook
        enabled: true
    edges:
      webhook->double:
        source_trigger: webhook
        target_job: double
        condition_type: always
        enabled: true
    test_cases:
      doubles:
        name: doubles
        input: order 5
        input_body:
          data:
            id: 5
        expected_data:
          id: 5
          double: 10
"""
FAILING = """\
      wrong:
        name: wrong
        input: order 5
        expected_data:
          id: 5
          double: 11
      asserts:
        name: asserts
        input: order 5
        assertion: state.data.double === 10
"""


@pytest.fixture
def server() -> Iterator[str]:
    with live_server() as url:
        yield url


def _config(tmp_path: Path, url: str, token: str, folder: str) -> Path:
    directory = tmp_path / folder
    directory.mkdir(exist_ok=True)
    path = tmp_path / f"{folder}.json"
    path.write_text(
        json.dumps(
            {
                "endpoint": url,
                "apiKey": token,
                "specPath": str(directory / "project.yaml"),
                "statePath": str(directory / ".state.json"),
            }
        )
    )
    return path


def invoke(*args: str | Path) -> Result:
    return runner.invoke(app, [str(a) for a in args])


def test_deploy_test_pull_round_trip(tmp_path: Path, server: str, session, user) -> None:
    token = factories.auth_headers(session, user)["Authorization"].removeprefix("Bearer ")
    config = _config(tmp_path, server, token, "repo")
    spec = tmp_path / "repo" / "project.yaml"
    spec.write_text(SPEC)

    deployed = invoke("deploy", "-c", config, "--no-confirm")
    assert deployed.exit_code == 0, deployed.output
    assert '+ test case "doubles" of workflow "orders"' in deployed.stdout

    passing = invoke("test", "-c", config)
    assert passing.exit_code == 0, passing.output
    assert "PASS  orders / doubles" in passing.stdout
    assert "1 passed, 0 failed." in passing.stdout

    spec.write_text(SPEC + FAILING)
    changed = invoke("deploy", "-c", config, "--no-confirm")
    assert changed.exit_code == 0, changed.output
    assert '+ test case "wrong" of workflow "orders"' in changed.stdout

    failing = invoke("test", "-c", config)
    assert failing.exit_code == 1, failing.output
    assert "FAIL  orders / wrong" in failing.stdout
    assert '-  "double": 11,' in failing.stdout and '+  "double": 10,' in failing.stdout
    assert "PASS  orders / asserts" in failing.stdout
    assert "2 passed, 1 failed." in failing.stdout

    project_id = json.loads((tmp_path / "repo" / ".state.json").read_text())["id"]
    pulled_config = _config(tmp_path, server, token, "pulled")
    pulled = invoke("pull", project_id, "-c", pulled_config)
    assert pulled.exit_code == 0, pulled.output
    written = yaml.safe_load((tmp_path / "pulled" / "project.yaml").read_text())
    cases = written["workflows"]["orders"]["test_cases"]
    assert cases["wrong"] == {
        "name": "wrong",
        "input": "order 5",
        "input_body": {"data": {"id": 5}},
        "expected_data": {"id": 5, "double": 11},
    }
    assert cases["asserts"]["assertion"] == "state.data.double === 10"
    assert "expected_data" not in cases["asserts"]

    again = invoke("deploy", "-c", pulled_config, "--no-confirm")
    assert again.exit_code == 0, again.output
    assert "No changes" in again.stdout

    # a file that drops a case removes it
    spec.write_text(SPEC)
    assert invoke("deploy", "-c", config, "--no-confirm").exit_code == 0
    assert invoke("test", "-c", config).exit_code == 0


def test_usage_errors_exit_2(tmp_path: Path, server: str, session, user) -> None:
    token = factories.auth_headers(session, user)["Authorization"].removeprefix("Bearer ")
    config = _config(tmp_path, server, token, "empty")
    no_project = invoke("test", "-c", config)
    assert no_project.exit_code == 2
    assert "--project" in no_project.output
    unknown = invoke("test", "-c", config, "--project", "00000000-0000-0000-0000-000000000000")
    assert unknown.exit_code == 2
    assert "HTTP 404" in unknown.output
