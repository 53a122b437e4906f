"""`openfn deploy` and `openfn pull` against this platform, through a client that makes
the CLI's requests and checks (tests/support/openfn_cli.py)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from lightning_flows.projects.models import Project
from lightning_flows.provisioning.yamlio import load_yaml
from lightning_flows.workflows.models import Job
from tests import factories
from tests.support import openfn_cli

FIXTURES = sorted((Path(__file__).parent / "fixtures").glob("*.yaml"))


@pytest.fixture
def ana_auth(session: Session) -> dict[str, str]:
    ana = factories.make_user(session, email="ana@moh.example")
    for name in ("OpenHIM prod", "Referral API"):
        factories.make_owned_credential(session, ana, {"token": f"secret {name}"}, name=name)
    return factories.auth_headers(session, ana)


def _spec(name: str) -> dict:
    return load_yaml((Path(__file__).parent / "fixtures" / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_first_deploy_creates_the_project_and_the_next_has_nothing_to_do(
    client: TestClient, session: Session, ana_auth: dict[str, str], path: Path
) -> None:
    spec = load_yaml(path.read_text(encoding="utf-8"))
    first = openfn_cli.deploy(client, ana_auth, spec, None)
    assert first.changed
    assert first.state["id"] and first.state["workflows"], "the state file can be written"
    again = openfn_cli.deploy(client, ana_auth, spec, first.state)
    assert not again.changed, "No changes to deploy."
    assert [p.name for p in session.exec(select(Project)).all()] == [spec["name"]]


def test_made_up_credential_ids_are_resolved_by_owner_and_name(
    client: TestClient, session: Session, ana_auth: dict[str, str]
) -> None:
    deployed = openfn_cli.deploy(client, ana_auth, _spec("01_canonical.yaml"), None)
    (credential,) = deployed.state["project_credentials"].values()
    send = deployed.state["workflows"]["OpenHIE-Workflow"]["jobs"][
        "Send-to-OpenHIM-to-route-to-SHR"
    ]
    assert send["project_credential_id"] == credential["id"]
    stored = session.get(Job, uuid.UUID(send["id"]))
    assert stored is not None and str(stored.project_credential_id) == credential["id"]


def test_a_changed_spec_is_deployed_on_the_same_project(
    client: TestClient, session: Session, ana_auth: dict[str, str]
) -> None:
    spec = _spec("09_conditions.yaml")
    first = openfn_cli.deploy(client, ana_auth, spec, None)
    jobs = spec["workflows"]["Stock-alerts"]["jobs"]
    jobs["Archive"]["body"] = "fn(state => ({ ...state, archived: true }));\n"
    del jobs["Log-failure"]
    del spec["workflows"]["Stock-alerts"]["edges"]["Read-stock->Log-failure"]
    second = openfn_cli.deploy(client, ana_auth, spec, first.state)
    assert second.changed
    assert "Log-failure" not in second.state["workflows"]["Stock-alerts"]["jobs"]
    names = {j.name for j in session.exec(select(Job)).all()}
    assert names == {"Read stock", "Alert low stock", "Archive"}
    assert len(session.exec(select(Project)).all()) == 1
    assert not openfn_cli.deploy(client, ana_auth, spec, second.state).changed


def test_pull_then_deploy_is_a_no_op(
    client: TestClient, ana_auth: dict[str, str], session: Session
) -> None:
    for name in ("01_canonical.yaml", "04_multi_trigger.yaml", "08_collections_channels.yaml"):
        created = client.post("/api/provision", json=_spec(name), headers=ana_auth)
        assert created.status_code == 201, created.text
        state, spec_text = openfn_cli.pull(client, ana_auth, created.json()["data"]["id"])
        redeployed = openfn_cli.deploy(client, ana_auth, load_yaml(spec_text), state)
        assert not redeployed.changed, name


def test_pull_of_an_unknown_project_is_a_404(client: TestClient, ana_auth: dict[str, str]) -> None:
    response = client.get(f"/api/provision/{uuid.uuid4()}", headers=ana_auth)
    assert response.status_code == 404
