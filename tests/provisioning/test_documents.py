"""Project documents without a server: YAML in and out, spec <-> state, project files."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lightning_flows.core.errors import InvalidInput
from lightning_flows.provisioning import files
from lightning_flows.provisioning.spec import parse_document
from lightning_flows.provisioning.state import merge_spec_and_state, rekey, spec_from_state
from lightning_flows.provisioning.yamlio import dump_yaml, load_json, load_yaml
from tests.support.projects import EXAMPLE

STATE = {
    "id": "p1",
    "name": "demo",
    "description": "",
    "project_credentials": {"a@x.org-api": {"id": "c1", "name": "api", "owner": "a@x.org"}},
    "workflows": {
        "intake": {
            "id": "w1",
            "name": "Intake",
            "jobs": {
                "get": {"id": "j1", "name": "Get", "adaptor": "http", "body": "get('/');\n",
                        "project_credential_id": "c1"},
                "put": {"id": "j2", "name": "Put", "adaptor": "http", "body": "put('/'); \n",
                        "project_credential_id": None},
            },
            "triggers": {"cron": {"id": "t1", "type": "cron", "enabled": True,
                                  "cron_expression": "0 * * * *", "cron_timezone": "UTC"}},
            "edges": {
                "cron->get": {"id": "e1", "source_trigger_id": "t1", "target_job_id": "j1",
                              "condition_type": "always", "enabled": True},
                "get->put": {"id": "e2", "source_job_id": "j1", "target_job_id": "j2",
                             "condition_type": "js_expression", "condition_expression": "!!state",
                             "condition_label": "has data", "enabled": False},
            },
        }
    },
}  # fmt: skip


def test_spec_from_state_is_stable_yaml_that_loads_back() -> None:
    spec = spec_from_state(STATE)
    text = dump_yaml(spec)
    assert text == dump_yaml(spec_from_state(STATE))
    assert load_yaml(text) == spec
    assert "credential: a@x.org-api" in text and "cron_timezone" not in text, "UTC is implied"
    assert "body: |\n          get('/');\n" in text, "multi-line bodies are literal blocks"
    assert "body: \"put('/'); \\n\"" in text, "trailing spaces force a quoted string"
    edge = spec["workflows"]["intake"]["edges"]["get->put"]
    assert edge == {
        "source_job": "get",
        "target_job": "put",
        "condition_type": "js_expression",
        "condition_expression": "!!state",
        "condition_label": "has data",
        "enabled": False,
    }


def test_merge_gives_ids_and_marks_what_the_spec_dropped() -> None:
    spec = spec_from_state(STATE)
    del spec["workflows"]["intake"]["jobs"]["put"]
    del spec["workflows"]["intake"]["edges"]["get->put"]
    spec["workflows"]["intake"]["jobs"]["new"] = {"name": "New", "body": ""}
    spec["workflows"]["other"] = {"name": "Other"}
    payload = merge_spec_and_state(spec, STATE)
    jobs = payload["workflows"]["intake"]["jobs"]
    assert payload["id"] == "p1" and payload["workflows"]["intake"]["id"] == "w1"
    assert jobs["get"]["id"] == "j1" and "id" not in jobs["new"]
    assert jobs["put"] == {"id": "j2", "delete": True}
    assert payload["workflows"]["intake"]["edges"]["get->put"] == {"id": "e2", "delete": True}
    assert "id" not in payload["workflows"]["other"]
    assert merge_spec_and_state(spec, None) == spec


def test_rekey_keeps_the_keys_a_client_used() -> None:
    server = {**STATE, "workflows": {"Intake": {**STATE["workflows"]["intake"]}}}
    server["workflows"]["Intake"]["jobs"] = {"Get": STATE["workflows"]["intake"]["jobs"]["get"]}
    local = rekey(server, STATE)
    assert set(local["workflows"]) == {"intake"}
    assert set(local["workflows"]["intake"]["jobs"]) == {"get"}


def test_document_shapes_and_their_errors() -> None:
    spec = parse_document(load_yaml(EXAMPLE))
    workflow = spec.workflows["OpenHIE-Workflow"]
    assert workflow.jobs["FHIR-standard-Data-with-change"].enabled is True
    edge = parse_document({"name": "x", "workflows": {"w": {"edges": {"a->b": {
        "source_job": "a", "target_job": "b", "condition": "on_job_failure"}}}}})  # fmt: skip
    assert edge.workflows["w"].edges["a->b"].condition_type == "on_job_failure"
    with pytest.raises(InvalidInput) as bad_body:
        parse_document({"name": "x", "workflows": {"w": {"jobs": {"j": {"body": {"file": 1}}}}}})
    assert bad_body.value.details == [
        {
            "loc": "workflows.w.jobs.j.body",
            "message": "Value error, a body is text or {path: ./file.js}",
        }
    ]
    with pytest.raises(InvalidInput, match="duplicate key 'a'"):
        load_json('{"a": 1, "a": 2}')
    with pytest.raises(InvalidInput, match="line 2: YAML aliases"):
        load_yaml("a: &big [1, 2]\nb: *big\n")
    with pytest.raises(InvalidInput, match="must be a mapping"):
        load_yaml("- a list\n")


def test_project_files_round_trip(tmp_path: Path) -> None:
    written = files.write(tmp_path, STATE)
    assert [p.relative_to(tmp_path).as_posix() for p in written] == [
        "project.yaml",
        "workflows/intake/get.js",
        "workflows/intake/put.js",
    ]
    spec = files.read_spec(tmp_path / "project.yaml", confine=True)
    assert spec == spec_from_state(STATE)
    raw = yaml.safe_load((tmp_path / "project.yaml").read_text())
    raw["workflows"]["intake"]["jobs"]["get"]["body"] = {"path": "../../etc/passwd"}
    (tmp_path / "project.yaml").write_text(yaml.safe_dump(raw))
    with pytest.raises(InvalidInput, match="is outside the project directory"):
        files.read_spec(tmp_path / "project.yaml", confine=True)
    (tmp_path / "state.json").write_text("[]")
    with pytest.raises(InvalidInput, match="must hold a JSON object"):
        files.read_state(tmp_path / "state.json")
    assert files.read_state(tmp_path / "missing.json") is None
