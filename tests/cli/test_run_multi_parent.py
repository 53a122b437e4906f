"""A job with several parents runs once for each incoming edge that fires (OpenFn's
runtime semantics), on the real runtime."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lightning_flows.cli.main import app

FIXTURE = Path(__file__).parents[1] / "provisioning" / "fixtures" / "04_multi_trigger.yaml"


@pytest.mark.slow
def test_a_job_with_two_parents_runs_once_per_parent(tmp_path: Path) -> None:
    spec = tmp_path / "project.yaml"
    shutil.copy(FIXTURE, spec)
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"data": {"age": 30}}))
    result = CliRunner().invoke(app, ["run", str(spec), "-s", str(state)])
    assert result.exit_code == 0, result.output
    assert result.stderr.count("Starting step Daily report") == 2
    assert json.loads(result.stdout)["Daily-report"]["reported"] == 1  # each from its parent
