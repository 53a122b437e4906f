"""`@openfn/project` (OpenFn's own project model, from npm) parses what the platform serves."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from lightning_flows.provisioning.yamlio import load_yaml
from tests import factories

CHECKER = Path(__file__).resolve().parents[1] / "support" / "openfn_project"
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def parse_state() -> object:
    """Runs @openfn/project on a served project (installs it from npm on first use)."""
    npm, node = shutil.which("npm"), shutil.which("node")
    if not npm or not node:
        pytest.skip("node/npm not installed")
    if not (CHECKER / "node_modules" / "@openfn" / "project").exists():
        done = subprocess.run(  # nosec B603
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=CHECKER,
            capture_output=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            pytest.skip(f"@openfn/project could not be installed: {done.stderr[-300:]!r}")

    def parse(data: dict) -> dict:
        done = subprocess.run(  # nosec B603
            [node, "parse-state.mjs"],
            cwd=CHECKER,
            input=json.dumps(data).encode(),
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr.decode()
        return dict(json.loads(done.stdout))

    return parse


@pytest.fixture
def ana_auth(session: Session) -> dict[str, str]:
    ana = factories.make_user(session, email="ana@moh.example")
    for name in ("OpenHIM prod", "Referral API"):
        factories.make_owned_credential(session, ana, {"token": f"secret {name}"}, name=name)
    return factories.auth_headers(session, ana)


@pytest.mark.parametrize(
    "name", ["01_canonical.yaml", "04_multi_trigger.yaml", "08_collections_channels.yaml"]
)
def test_openfn_project_reads_the_served_state(
    client: TestClient, ana_auth: dict[str, str], parse_state, name: str
) -> None:
    spec = load_yaml((FIXTURES / name).read_text(encoding="utf-8"))
    created = client.post("/api/provision", json=spec, headers=ana_auth)
    assert created.status_code == 201, created.text
    data = client.get(f"/api/provision/{created.json()['data']['id']}", headers=ana_auth).json()
    project = parse_state(data["data"])

    assert project["name"] == spec["name"]
    assert project["uuid"] == data["data"]["id"]
    owners = {f"{c['owner']}|{c['name']}" for c in (spec.get("credentials") or {}).values()}
    assert set(project["credentials"]) == owners
    collections = {c["name"] for c in (spec.get("collections") or {}).values()}
    assert set(project["collections"]) == collections
    for workflow, wf_spec in zip(project["workflows"], spec["workflows"].values(), strict=True):
        assert workflow["name"] == wf_spec["name"]
        jobs = {s["name"]: s["adaptor"] for s in workflow["steps"] if s["type"] is None}
        assert jobs == {j["name"]: j["adaptor"] for j in wf_spec["jobs"].values()}
        triggers = {s["type"] for s in workflow["steps"] if s["type"] is not None}
        assert triggers == {t["type"] for t in wf_spec["triggers"].values()}
        links = sum(len(s["next"]) for s in workflow["steps"])
        assert links == len(wf_spec["edges"]), "every edge is a step's `next`"
