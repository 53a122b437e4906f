"""Realistic project files (tests/provisioning/fixtures) covering every spec field:
each is provisioned, exported and compared, and provisioning the export changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from adaptor_tasks.specifiers import parse_specifier
from lightning_flows.projects.spec_models import Channel, Collection
from lightning_flows.provisioning.yamlio import load_yaml
from lightning_flows.workflows.models import WorkflowSnapshot, WorkflowVersion
from tests import factories
from tests.support.projects import provision_yaml

FIXTURES = sorted((Path(__file__).parent / "fixtures").glob("*.yaml"))


@pytest.fixture
def ana_auth(session: Session) -> dict[str, str]:
    """The owner the fixtures' credentials name, with those credentials."""
    ana = factories.make_user(session, email="ana@moh.example")
    for name in ("OpenHIM prod", "Referral API"):
        factories.make_owned_credential(session, ana, {"token": f"secret {name}"}, name=name)
    return factories.auth_headers(session, ana)


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_fixture_round_trips(
    client: TestClient, session: Session, ana_auth: dict[str, str], path: Path
) -> None:
    text = path.read_text(encoding="utf-8")
    created = provision_yaml(client, ana_auth, text)
    assert created.status_code == 201, created.text
    project_id = created.json()["data"]["id"]

    exported = client.get("/api/provision/yaml", params={"id": project_id}, headers=ana_auth)
    assert exported.status_code == 200
    assert load_yaml(exported.text) == load_yaml(text)

    versions = len(session.exec(select(WorkflowVersion)).all())
    again = provision_yaml(client, ana_auth, exported.text, id=project_id)
    assert again.status_code == 201, again.text
    assert again.json() == created.json()
    assert len(session.exec(select(WorkflowVersion)).all()) == versions, "no-op: no new version"
    served = client.get(f"/api/provision/{project_id}", headers=ana_auth)
    assert served.json() == created.json()

    for snapshot in session.exec(select(WorkflowSnapshot)).all():
        for job in snapshot.document["jobs"]:
            assert parse_specifier(job["adaptor"]).is_exact, "runs use a pinned adaptor"


def test_yaml_1_1_look_alikes_stay_strings(
    client: TestClient, session: Session, ana_auth: dict[str, str]
) -> None:
    text = (Path(__file__).parent / "fixtures" / "07_yaml_1_2.yaml").read_text(encoding="utf-8")
    project = provision_yaml(client, ana_auth, text).json()["data"]
    assert project["name"] == "off"
    assert project["description"] == "2024-01-31"
    (workflow,) = project["workflows"]
    assert {j["name"] for j in workflow["jobs"]} == {"on", "2024-02-01"}


def test_enabling_a_kafka_trigger_or_a_channel_is_refused_clearly(
    client: TestClient, ana_auth: dict[str, str]
) -> None:
    fixtures = Path(__file__).parent / "fixtures"
    kafka = (fixtures / "03_kafka.yaml").read_text(encoding="utf-8")
    refused = provision_yaml(client, ana_auth, kafka.replace("enabled: false", "enabled: true"))
    assert refused.status_code == 422
    assert refused.json()["errors"] == [
        {
            "loc": "workflows.Lab-results.triggers.kafka.enabled",
            "message": "Kafka triggers are stored but not consumed yet on this platform: "
            "save it with enabled: false",
        }
    ]
    channels = (fixtures / "08_collections_channels.yaml").read_text(encoding="utf-8")
    before, after = "    enabled: false\n    destination", "    enabled: true\n    destination"
    enabled = channels.replace(before, after)
    refused = provision_yaml(client, ana_auth, enabled)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"] == "channels.Referral-proxy.enabled"
    assert "not proxied yet" in refused.json()["errors"][0]["message"]


def test_deleting_a_project_removes_its_collections_and_channels(
    client: TestClient, session: Session, ana_auth: dict[str, str]
) -> None:
    text = (Path(__file__).parent / "fixtures" / "08_collections_channels.yaml").read_text()
    project_id = provision_yaml(client, ana_auth, text).json()["data"]["id"]
    assert client.delete(f"/api/projects/{project_id}", headers=ana_auth).status_code == 204
    assert session.exec(select(Collection)).all() == []
    assert session.exec(select(Channel)).all() == []


def test_on_worker_loss_is_kept_and_left_alone_when_a_spec_omits_it(
    client: TestClient, session: Session, ana_auth: dict[str, str]
) -> None:
    from lightning_flows.workflows.models import Workflow

    text = (Path(__file__).parent / "fixtures" / "11_worker_loss.yaml").read_text()
    created = provision_yaml(client, ana_auth, text)
    assert created.status_code == 201, created.text
    (workflow,) = session.exec(select(Workflow)).all()
    assert workflow.on_worker_loss == "mark_lost"
    (sent,) = created.json()["data"]["workflows"]
    assert sent["on_worker_loss"] == "mark_lost", "our extension crosses the wire (pull keeps it)"

    project_id = created.json()["data"]["id"]
    without = text.replace("    on_worker_loss: mark_lost\n", "")
    again = provision_yaml(client, ana_auth, without, id=project_id)
    assert again.status_code == 201, again.text
    session.refresh(workflow)
    assert workflow.on_worker_loss == "mark_lost", "a spec without the field keeps the choice"
