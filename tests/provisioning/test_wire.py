"""Lightning's list-shaped project JSON, to and from our keyed state."""

from __future__ import annotations

from lightning_flows.provisioning.wire import from_payload, to_payload

STATE = {
    "id": "p1",
    "name": "Intake",
    "description": "",
    "project_credentials": {"ana@x.org-API": {"id": "c1", "name": "API", "owner": "ana@x.org"}},
    "collections": {},
    "channels": {},
    "workflows": {
        "Intake": {
            "id": "w1",
            "name": "Intake",
            "lock_version": 3,
            "jobs": {
                "send": {
                    "id": "j2",
                    "name": "Send to SHR",
                    "adaptor": "@openfn/language-http@latest",
                    "body": "post('/x', $.data);",
                    "project_credential_id": "c1",
                },
                "Fetch": {
                    "id": "j1",
                    "name": "Fetch",
                    "adaptor": "common",
                    "body": "fn(s => s);",
                    "project_credential_id": None,
                },
            },
            "triggers": {
                "webhook": {
                    "id": "t1",
                    "type": "webhook",
                    "enabled": True,
                    "cron_expression": None,
                    "cron_timezone": "UTC",
                    "custom_path": None,
                    "webhook_reply": None,
                    "cron_cursor_job_id": None,
                    "webhook_response_config": None,
                    "kafka_configuration": None,
                }
            },
            "edges": {
                "webhook->Fetch": {
                    "id": "e1",
                    "source_trigger_id": "t1",
                    "source_job_id": None,
                    "target_job_id": "j1",
                    "condition_type": "always",
                    "condition_expression": None,
                    "condition_label": None,
                    "enabled": True,
                },
                "Fetch->send": {
                    "id": "e2",
                    "source_trigger_id": None,
                    "source_job_id": "j1",
                    "target_job_id": "j2",
                    "condition_type": "on_job_success",
                    "condition_expression": None,
                    "condition_label": None,
                    "enabled": True,
                },
            },
        }
    },
}


def test_payload_has_lightnings_fields_as_lists_ordered_by_id() -> None:
    payload = to_payload(STATE)
    assert "collections" not in payload and "channels" not in payload, "only when there are some"
    assert payload["project_credentials"] == [{"id": "c1", "name": "API", "owner": "ana@x.org"}]
    (workflow,) = payload["workflows"]
    assert [j["id"] for j in workflow["jobs"]] == ["j1", "j2"]
    assert workflow["triggers"] == [{"id": "t1", "type": "webhook", "enabled": True}]
    assert workflow["edges"][0] == {
        "id": "e1",
        "enabled": True,
        "source_trigger_id": "t1",
        "condition_type": "always",
        "target_job_id": "j1",
    }
    assert workflow["lock_version"] == 3


def test_keys_come_back_from_ids_or_from_the_spec_the_client_sent() -> None:
    payload = to_payload(STATE)
    assert from_payload(payload, like=STATE)["workflows"]["Intake"]["jobs"].keys() == {
        "send",
        "Fetch",
    }
    spec = {
        "workflows": {
            "Intake": {
                "name": "Intake",
                "jobs": {"send": {"name": "Send to SHR"}, "Fetch": {"name": "Fetch"}},
                "triggers": {"webhook": {"type": "webhook"}},
                "edges": {"Fetch->send": {"source_job": "Fetch", "target_job": "send"}},
            }
        }
    }
    keyed = from_payload(payload, like=spec)["workflows"]["Intake"]
    assert set(keyed["jobs"]) == {"send", "Fetch"}, "a new item keeps the spec's key by name"
    assert set(keyed["edges"]) == {"webhook->Fetch", "Fetch->send"}
    plain = from_payload(payload)["workflows"]["Intake"]
    assert set(plain["jobs"]) == {"Send-to-SHR", "Fetch"}, "OpenFn's key without hints"


def test_our_workflow_extensions_cross_the_wire_and_come_back() -> None:
    workflow = {**STATE["workflows"]["Intake"], "on_worker_loss": "mark_lost"}
    state = {**STATE, "workflows": {"Intake": workflow}}
    (sent,) = to_payload(state)["workflows"]
    assert sent["on_worker_loss"] == "mark_lost"
    back = from_payload(to_payload(state), like=state)["workflows"]["Intake"]
    assert back["on_worker_loss"] == "mark_lost"
    (plain,) = to_payload(STATE)["workflows"]
    assert "on_worker_loss" not in plain, "left out at the default, as OpenFn's files have it"
