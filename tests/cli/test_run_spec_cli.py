"""`lightning-flows run project.yaml`: a workflow straight from a project spec."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from lightning_flows.cli.main import app
from tests.support.projects import EXAMPLE

runner = CliRunner()

SPEC = {
    "name": "local",
    "workflows": {
        "checks": {
            "name": "Checks",
            "jobs": {
                "check": {"adaptor": "common", "body": {"path": "./check.js"}},
                "accept": {"adaptor": "common", "body": "fn(s => ({ data: { ok: s.data.x } }));"},
                "report": {"adaptor": "common", "body": "fn(s => ({ data: { handled: true } }));"},
            },
            "triggers": {"webhook": {"type": "webhook"}},
            "edges": {
                "webhook->check": {"source_trigger": "webhook", "target_job": "check"},
                "check->accept": {
                    "source_job": "check",
                    "target_job": "accept",
                    "condition_type": "on_job_success",
                },
                "check->report": {
                    "source_job": "check",
                    "target_job": "report",
                    "condition": "on_job_failure",
                },
            },
        },
        "other": {"name": "Other", "jobs": {"only": {"body": "fn(s => s);"}}},
    },
}


def _write(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "check.js").write_text(
        "fn(s => { if (s.data.x < 0) throw new Error('negative'); return s; });"
    )
    spec = tmp_path / "project.yaml"
    spec.write_text(yaml.safe_dump(SPEC))
    state = tmp_path / "state.json"
    return spec, state


@pytest.mark.slow
def test_runs_the_chosen_workflow_of_a_spec(tmp_path: Path) -> None:
    spec, state = _write(tmp_path)
    state.write_text(json.dumps({"data": {"x": -1}}))
    failed = runner.invoke(app, ["run", str(spec), "-w", "Checks", "-s", str(state)])
    assert failed.exit_code == 0, failed.output
    assert json.loads(failed.stdout) == {"data": {"handled": True}}
    state.write_text(json.dumps({"data": {"x": 4}}))
    passed = runner.invoke(app, ["run", str(spec), "-w", "checks", "-s", str(state), "-q"])
    assert json.loads(passed.stdout) == {"data": {"ok": 4}}
    started = runner.invoke(app, ["run", str(spec), "-w", "checks", "--start", "report", "-q"])
    assert json.loads(started.stdout) == {"data": {"handled": True}}


@pytest.mark.slow
def test_runs_the_openfn_example(tmp_path: Path) -> None:
    spec = tmp_path / "project.yml"
    spec.write_text(EXAMPLE)
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"data": {"patient": "p-1"}}))
    result = runner.invoke(app, ["run", str(spec), "-s", str(state)])
    assert result.exit_code == 0, result.output
    assert "hello github integration" in result.stderr


def test_spec_problems_are_explained(tmp_path: Path) -> None:
    spec, _state = _write(tmp_path)
    several = runner.invoke(app, ["run", str(spec)])
    assert several.exit_code == 2
    assert "has 2 workflows ('checks', 'other'): choose one with --workflow" in several.stderr
    unknown = runner.invoke(app, ["run", str(spec), "-w", "nope"])
    assert "There is no workflow 'nope'" in unknown.stderr
    (tmp_path / "check.js").unlink()
    missing = runner.invoke(app, ["run", str(spec), "-w", "checks"])
    assert missing.exit_code == 2
    assert "workflows.checks.jobs.check.body: cannot read './check.js'" in missing.stderr
