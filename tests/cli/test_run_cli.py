"""`lightning-flows run`: jobs and workflows from files, output, logs and exit codes."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from lightning_flows.cli.main import app
from tests.support.http_server import Received, local_http_server

runner = CliRunner()
SCRIPT = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "lightning-flows"
PASSWORD = "s3cret-pass-9931"


def invoke(*args: str | Path) -> Result:
    return runner.invoke(app, ["run", *map(str, args)])


def write(path: Path, content: Any) -> Path:
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def workflow(tmp_path: Path) -> Path:
    """start -> check -(js)-> accept; check -(failure)-> report. The check fails for x < 0."""
    write(
        tmp_path / "check.js",
        "fn(s => { if (s.data.x < 0) throw new TypeError('bad input'); return s; });",
    )
    return write(
        tmp_path / "workflow.json",
        {
            "workflow": {
                "steps": [
                    {"id": "start", "expression": "fn(s => ({ ...s, data: { x: s.data.x } }));",
                     "next": {"check": True}},
                    {"id": "check", "expression": "check.js",
                     "next": {"accept": {"condition": "state.data.x > 1"},
                              "report": "on_job_failure"}},
                    {"id": "accept", "expression": "fn(s => ({ data: { accepted: s.data.x } }));"},
                    {"id": "report", "expression": "fn(s => { throw new RangeError('no'); });"},
                ]
            },
        },
    )  # fmt: skip


@pytest.mark.slow
def test_job_with_state_file_prints_the_final_state(tmp_path: Path) -> None:
    job = write(tmp_path / "job.js", "fn(s => { console.log('x is', s.data.x); return s; });")
    state = write(tmp_path / "state.json", {"data": {"x": 3}, "configuration": {"key": "k-1"}})
    result = invoke(job, "-a", "common", "-s", state)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"data": {"x": 3}}
    assert "[JOB] info x is 3" in result.stderr
    assert "[R/T] info" in result.stderr


@pytest.mark.slow
def test_workflow_to_output_file_and_start_option(tmp_path: Path) -> None:
    plan, out = workflow(tmp_path), tmp_path / "out.json"
    state = write(tmp_path / "state.json", {"data": {"x": 5}})
    result = invoke(plan, "-s", state, "-o", out, "--quiet")
    assert result.exit_code == 0, result.output
    assert result.stdout == "" and result.stderr == ""
    assert json.loads(out.read_text()) == {"data": {"accepted": 5}}
    result = invoke(plan, "--start", "accept", "-s", state, "--log-level", "error")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"data": {"accepted": 5}}
    assert "[R/T] info" not in result.stderr


@pytest.mark.slow
def test_failed_run_exits_1_with_a_one_line_reason(tmp_path: Path) -> None:
    state = write(tmp_path / "state.json", {"data": {"x": -1}})
    result = invoke(workflow(tmp_path), "-s", state)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == "Run failed: RangeError: no (step 'report')"
    assert set(json.loads(result.stdout)["errors"]) == {"check", "report"}


@pytest.mark.slow
def test_crash_exits_1_without_output(tmp_path: Path) -> None:
    job = write(tmp_path / "job.js", "fn(s => {\n  s.x = ;\n});")
    result = invoke(job, "-o", tmp_path / "out.json")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1].startswith("Run crashed: CompileError: SyntaxError")
    assert "(line 2, column" in result.stderr
    assert not (tmp_path / "out.json").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.js"], "job {tmp}/missing.js does not exist"),
        (["job.js", "-s", "bad.json"], "line 2, column 9"),
        (["job.js", "-a", "Not An Adaptor!"], "Adaptor 'Not An Adaptor!' of step 'job'"),
        (["plan.json"], "points at unknown step 'nowhere'"),
        (["good.json", "--start", "ghost"], "no step 'ghost' to start from"),
        (["job.js", "-o", "no/such/dir/out.json"], "output file"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(
    tmp_path: Path, args: list[str], message: str
) -> None:
    write(tmp_path / "job.js", "fn(s => s);")
    write(tmp_path / "bad.json", '{"data":\n  {"x": }\n}')
    step = {"id": "a", "expression": "fn(s => s)", "next": {"nowhere": True}}
    write(tmp_path / "plan.json", {"workflow": {"steps": [step]}})
    write(
        tmp_path / "good.json", {"workflow": {"steps": [{"id": "a", "expression": "fn(s => s)"}]}}
    )
    result = invoke(*[str(tmp_path / a) if a.endswith((".js", ".json")) else a for a in args])
    assert result.exit_code == 2
    assert message.format(tmp=tmp_path) in result.stderr
    assert result.stderr.startswith("Error: ") and "Traceback" not in result.output
    assert result.stdout == ""


@pytest.mark.slow
def test_http_get_with_basic_auth_from_the_state_file(tmp_path: Path) -> None:
    expected = "Basic " + base64.b64encode(f"amina:{PASSWORD}".encode()).decode()

    def patients(got: Received) -> tuple[int, Any]:
        if got.headers.get("Authorization") != expected:
            return 401, {"error": "unauthorised"}
        return 200, {"patients": [{"id": 1}], "path": got.path}

    job = write(
        tmp_path / "fetch.js",
        "get('/patients', { query: { page: 2 } });\n"
        "fn(s => { console.log('auth', s.configuration?.password ?? 'gone'); return s; });",
    )
    with local_http_server() as server:
        server.route("GET", "/patients", patients)
        configuration = {"baseUrl": server.url, "username": "amina", "password": PASSWORD}
        state = write(tmp_path / "state.json", {"data": {}, "configuration": configuration})
        result = invoke(job, "-a", "@openfn/language-http@7.2.10", "-s", state)
    assert result.exit_code == 0, result.output
    output = json.loads(result.stdout)
    assert output["data"] == {"patients": [{"id": 1}], "path": "/patients?page=2"}
    assert "configuration" not in output and PASSWORD not in result.stdout
    assert PASSWORD not in result.stderr and "[JOB] info auth ***" in result.stderr


@pytest.mark.slow
def test_console_script_runs_without_database_or_prefect(tmp_path: Path) -> None:
    job = write(tmp_path / "job.js", "fn(s => ({ ...s, data: { n: s.data.n + 1 } }));")
    write(tmp_path / "state.json", {"data": {"n": 41}})
    env = {
        **os.environ,
        "LIGHTNING_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/none",
        "PREFECT_API_URL": "http://127.0.0.1:9/api",
    }
    done = subprocess.run(
        [str(SCRIPT), "run", job.name, "-s", "state.json", "-o", "out.json", "-q"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "out.json").read_text()) == {"data": {"n": 42}}
    bad = subprocess.run(
        [str(SCRIPT), "run", "absent.js"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert (
        bad.returncode == 2 and bad.stderr.startswith("Error: ") and "Traceback" not in bad.stderr
    )
