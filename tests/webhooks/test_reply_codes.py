"""A sync webhook reply uses the trigger's `webhook_response_config` status codes."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from lightning_flows.webhooks.lookup import clear_cache
from tests import factories

pytestmark = pytest.mark.slow


def test_reply_codes_follow_the_runs_outcome(client: TestClient, session, project, worker) -> None:
    clear_cache()
    wf = factories.make_workflow(
        session,
        project,
        jobs={"check": "fn(s => { if (!s.data.ok) throw new Error('not ok'); return s; });"},
        webhook_reply="after_completion",
        webhook_response_config={"success_code": 202, "error_code": 422},
    )
    passed = client.post(f"/i/{wf.triggers[0].id}", json={"ok": True})
    assert passed.status_code == 202, passed.text
    assert passed.json()["meta"]["state"] == "success"
    failed = client.post(f"/i/{wf.triggers[0].id}", json={"ok": False})
    assert failed.status_code == 422, failed.text
    assert failed.json()["meta"]["state"] == "failed"
