"""The request form's code (static/src/request_form.js, run by Node) sends exactly the request
the form describes: generated, then executed by the real runtime and @openfn/language-http
against a local HTTP server."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from lightning_flows.engine.execution_plan import ExecutionPlan, PlanStep
from lightning_flows.engine.local import run_local
from tests.support.http_server import Received, local_http_server

pytestmark = pytest.mark.slow

MODULE = Path(__file__).resolve().parents[3] / "ui_extension" / "static" / "src" / "request_form.js"


def request_form(tmp_path: Path, call: str, form: Any) -> Any:
    """`call(form)` of request_form.js in Node (`generate`, `parse` or `problems`)."""
    module = tmp_path / "request_form.mjs"  # the UI's package is not an ES-module package
    shutil.copy(MODULE, module)
    script = (
        f"import * as forms from {json.dumps(module.as_uri())};"
        "const [call, arg] = [process.argv[1], JSON.parse(process.argv[2])];"
        "let out; try { out = { ok: forms[call](arg) }; } catch (e) { out = { error: e.message }; }"
        "process.stdout.write(JSON.stringify(out));"
    )
    node = shutil.which("node")
    assert node, "node is not installed"
    done = subprocess.run(
        [node, "--input-type=module", "-e", script, call, json.dumps(form)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


def run_job(body: str, state: dict[str, Any]) -> Any:
    step = PlanStep(id="request", name="request", adaptor="http", body=body)
    return run_local(ExecutionPlan(steps={"request": step}, edges=[], start="request"), state)


def test_generated_post_sends_the_request_the_form_describes(tmp_path) -> None:
    form = {
        "method": "POST",
        "url": "/patients",
        "query": [
            {"name": "page", "from": "text", "value": "2"},
            {"name": "district", "from": "state", "value": "$.data.patient.district"},
        ],
        "headers": [
            {"name": "X-Source", "from": "text", "value": "lightning flows"},
            {"name": "X-Case", "from": "state", "value": "$.data.case_id"},
        ],
        "body": [
            {"name": "id", "from": "state", "value": "$.data.patient.id"},
            {"name": "names", "from": "state", "value": "$.data.patient.names[0]"},
            {"name": "source", "from": "text", "value": "clinic 7"},
            {"name": "visits", "from": "json", "value": "3"},
            {"name": "tags", "from": "json", "value": '["new", "urgent"]'},
        ],
        "keep": "path",
        "keepPath": "entry[0].resource",
    }
    code = request_form(tmp_path, "generate", form)["ok"]
    assert code.startswith("// @request-form {")
    assert request_form(tmp_path, "parse", code)["ok"]["matches"] is True

    with local_http_server() as server:
        answer = {"entry": [{"resource": {"id": "fhir-1", "status": "created"}}]}

        def created(_: Received) -> tuple[int, Any]:
            return 201, answer

        server.route("POST", "/patients", created)
        state = {
            "configuration": {"baseUrl": server.url},
            "data": {
                "case_id": "case-9",
                "patient": {"id": "p-42", "district": "Kisumu East", "names": ["Achieng"]},
            },
        }
        run = run_job(code, state)

    assert run.walk.state == "success", run.walk.error_message
    (got,) = server.received
    url = urlsplit(got.path)
    assert (got.method, url.path) == ("POST", "/patients")
    assert parse_qs(url.query) == {"page": ["2"], "district": ["Kisumu East"]}
    headers = {k.lower(): v for k, v in got.headers.items()}
    assert headers["x-source"] == "lightning flows" and headers["x-case"] == "case-9"
    assert headers["content-type"] == "application/json"
    assert got.body == {
        "id": "p-42",
        "names": "Achieng",
        "source": "clinic 7",
        "visits": 3,
        "tags": ["new", "urgent"],
    }
    assert run.output is not None and run.output["data"] == {"id": "fhir-1", "status": "created"}


def test_generated_get_of_a_full_url_keeps_the_whole_body(tmp_path) -> None:
    with local_http_server() as server:
        form = {"method": "GET", "url": f"{server.url}/facilities", "keep": "body"}
        code = request_form(tmp_path, "generate", form)["ok"]
        run = run_job(code, {"data": {}})

    assert run.walk.state == "success", run.walk.error_message
    (got,) = server.received
    assert (got.method, got.path, got.body) == ("GET", "/facilities", None)
    assert run.output is not None and run.output["data"] == {"echo": None, "path": "/facilities"}


def test_code_edited_by_hand_no_longer_matches_the_form(tmp_path) -> None:
    code = request_form(tmp_path, "generate", {"method": "DELETE", "url": "/patients/7"})["ok"]
    assert 'request("DELETE", "/patients/7");' in code
    edited = code.replace('"/patients/7");', '"/patients/8");')  # the code, not the form
    parsed = request_form(tmp_path, "parse", edited)["ok"]
    assert parsed["matches"] is False and parsed["form"]["url"] == "/patients/7"
    assert request_form(tmp_path, "parse", "fn(state => state);\n")["ok"] is None


def test_a_form_with_mistakes_writes_no_code_and_says_what_to_fix(tmp_path) -> None:
    form = {
        "method": "POST",
        "url": "",
        "body": [
            {"name": "id", "from": "state", "value": "$.data.id; process.exit(1)"},
            {"name": "", "from": "json", "value": "{not json"},
        ],
        "keep": "path",
        "keepPath": "entry[0",
    }
    error = request_form(tmp_path, "generate", form)["error"]
    assert "Give the URL or a path" in error
    assert "is not a reference into state, e.g. $.data.patient.id" in error
    assert "Body field 2 needs a name" in error and "{not json is not JSON" in error
    assert "entry[0 is not a path in the response" in error
