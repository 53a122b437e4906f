"""The collections API: Lightning's wire contract, project roles, run tokens."""

from __future__ import annotations

import base64
import json
import uuid

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from lightning_flows.audit.models import AuditEvent
from lightning_flows.collections import tokens
from lightning_flows.projects.models import Role
from tests import factories


def _create(client: TestClient, auth: dict[str, str], project_id: object, name: str) -> None:
    answer = client.post(
        f"/api/projects/{project_id}/collections", json={"name": name}, headers=auth
    )
    assert answer.status_code == 201, answer.text


def _run_token(project_id: uuid.UUID, ttl: float = 60) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens.mint(project_id, uuid.uuid4(), ttl)}"}


def _put(client: TestClient, auth: dict[str, str], name: str, pairs: dict[str, object]) -> int:
    items = [{"key": k, "value": json.dumps(v)} for k, v in pairs.items()]
    answer = client.post(f"/collections/{name}", json={"items": items}, headers=auth)
    assert answer.status_code == 200, answer.text
    assert answer.json()["error"] is None
    return int(answer.json()["upserted"])


def test_create_list_and_delete_collections(
    client: TestClient, auth: dict[str, str], project: factories.Project
) -> None:
    _create(client, auth, project.id, "patient-ids")
    _create(client, auth, project.id, "mappings.v2")
    again = client.post(
        f"/api/projects/{project.id}/collections", json={"name": "patient-ids"}, headers=auth
    )
    assert again.status_code == 409
    bad = client.post(
        f"/api/projects/{project.id}/collections", json={"name": "Patient IDs"}, headers=auth
    )
    assert bad.status_code == 422 and "URL safe" in bad.json()["detail"]
    listed = client.get(f"/api/projects/{project.id}/collections", headers=auth).json()
    assert [(c["name"], c["item_count"]) for c in listed] == [
        ("mappings.v2", 0),
        ("patient-ids", 0),
    ]
    gone = client.delete(f"/api/projects/{project.id}/collections/mappings.v2", headers=auth)
    assert gone.status_code == 204
    names = [
        c["name"]
        for c in client.get(f"/api/projects/{project.id}/collections", headers=auth).json()
    ]
    assert names == ["patient-ids"]


def test_wire_contract_of_the_adaptor(
    client: TestClient, session: Session, project: factories.Project
) -> None:
    owner = factories.auth_headers(
        session, session.get(factories.User, project_owner(session, project))
    )
    _create(client, owner, project.id, "codes")
    run = _run_token(project.id)
    assert (
        _put(client, run, "codes", {"2024-01-a": {"n": 1}, "2024-02-b": [1, 2], "other": "x"}) == 3
    )
    # upsert keeps the item's place and changes its value
    assert _put(client, run, "codes", {"2024-01-a": {"n": 2}}) == 1

    one = client.get("/collections/codes/2024-01-a", headers=run)
    assert one.status_code == 200
    assert json.loads(one.json()["value"]) == {"n": 2}
    assert set(one.json()) == {"key", "value", "created", "updated"}
    assert client.get("/collections/codes/nope", headers=run).status_code == 204

    matched = client.get("/collections/codes", params={"key": "2024*"}, headers=run).json()
    assert [i["key"] for i in matched["items"]] == ["2024-01-a", "2024-02-b"]
    assert matched["cursor"] is None

    first = client.get("/collections/codes", params={"limit": 2}, headers=run).json()
    assert [i["key"] for i in first["items"]] == ["2024-01-a", "2024-02-b"]
    assert first["cursor"]
    rest = client.get(
        "/collections/codes", params={"limit": 2, "cursor": first["cursor"]}, headers=run
    ).json()
    assert [i["key"] for i in rest["items"]] == ["other"] and rest["cursor"] is None

    put_one = client.put("/collections/codes/single", json={"value": '"v"'}, headers=run)
    assert put_one.json() == {"upserted": 1, "error": None}
    removed = client.delete("/collections/codes/single", headers=run).json()
    assert removed == {"key": "single", "deleted": 1, "error": None}
    missing = client.delete("/collections/codes/single", headers=run).json()
    assert missing["deleted"] == 0 and missing["error"] == "Item Not Found"
    by_pattern = client.delete("/collections/codes", params={"key": "2024-0*"}, headers=run)
    assert by_pattern.json() == {"key": "2024-0*", "deleted": 2, "error": None}
    left = client.get("/collections/codes", headers=run).json()
    assert [i["key"] for i in left["items"]] == ["other"]


def project_owner(session: Session, project: factories.Project) -> uuid.UUID:
    from lightning_flows.projects.models import ProjectUser

    return session.exec(
        select(ProjectUser.user_id).where(
            ProjectUser.project_id == project.id, ProjectUser.role == Role.OWNER
        )
    ).one()


def test_patterns_are_literal_and_case_sensitive(
    client: TestClient, auth: dict[str, str], project: factories.Project
) -> None:
    _create(client, auth, project.id, "keys")
    run = _run_token(project.id)
    _put(client, run, "keys", {"a_b": 1, "axb": 2, "A_b": 3, "a%b": 4, "a_b-2": 5})

    def keys(pattern: str) -> list[str]:
        answer = client.get("/collections/keys", params={"key": pattern}, headers=run).json()
        return [i["key"] for i in answer["items"]]

    assert keys("a_b*") == ["a_b", "a_b-2"]
    assert keys("a%*") == ["a%b"]
    assert keys("*b") == ["a_b", "axb", "A_b", "a%b"]


def test_bad_queries_and_values_are_refused_with_a_reason(
    client: TestClient, auth: dict[str, str], project: factories.Project
) -> None:
    from lightning_flows.core.config import get_settings

    _create(client, auth, project.id, "c")
    run = _run_token(project.id)
    bad_cursor = client.get("/collections/c", params={"cursor": "%%%"}, headers=run)
    assert bad_cursor.status_code == 422 and "cursor" in bad_cursor.json()["detail"]
    unknown = client.get("/collections/c", params={"colour": "red"}, headers=run)
    assert unknown.status_code == 422 and "colour" in unknown.json()["detail"]
    big = "x" * (get_settings().collection_value_max_bytes + 1)
    too_big = client.post(
        "/collections/c", json={"items": [{"key": "k", "value": big}]}, headers=run
    )
    assert too_big.status_code == 422 and "larger than" in too_big.json()["detail"]


def test_roles_and_other_projects(
    client: TestClient, session: Session, auth: dict[str, str], project: factories.Project
) -> None:
    _create(client, auth, project.id, "shared")
    viewer = factories.make_user(session)
    factories.add_member(session, project, viewer, Role.VIEWER)
    viewer_auth = factories.auth_headers(session, viewer)
    assert client.get("/collections/shared", headers=viewer_auth).status_code == 200
    refused = client.post(
        "/collections/shared", json={"items": [{"key": "k", "value": "1"}]}, headers=viewer_auth
    )
    assert refused.status_code == 403
    create = client.post(
        f"/api/projects/{project.id}/collections", json={"name": "nope"}, headers=viewer_auth
    )
    assert create.status_code == 403

    stranger = factories.make_user(session)
    stranger_auth = factories.auth_headers(session, stranger)
    assert client.get("/collections/shared", headers=stranger_auth).status_code == 404
    assert (
        client.get(f"/api/projects/{project.id}/collections", headers=stranger_auth).status_code
        == 404
    )
    other = factories.make_project(session, owner=stranger)
    # another project's run token cannot reach this project's collection, even naming it
    other_run = _run_token(other.id)
    assert client.get("/collections/shared", headers=other_run).status_code == 404
    assert (
        client.get(
            "/collections/shared", params={"project_id": str(project.id)}, headers=other_run
        ).status_code
        == 404
    )
    assert client.get("/collections/shared/k", headers=other_run).status_code == 404


def test_the_same_name_in_two_projects_needs_project_id(
    client: TestClient,
    session: Session,
    user: factories.User,
    auth: dict[str, str],
    project: factories.Project,
) -> None:
    second = factories.make_project(session, owner=user)
    _create(client, auth, project.id, "ids")
    _create(client, auth, second.id, "ids")
    _put(client, _run_token(second.id), "ids", {"in-second": 1})
    ambiguous = client.get("/collections/ids", headers=auth)
    assert ambiguous.status_code == 409 and "project_id" in ambiguous.json()["detail"]
    chosen = client.get("/collections/ids", params={"project_id": str(second.id)}, headers=auth)
    assert [i["key"] for i in chosen.json()["items"]] == ["in-second"]


def test_tokens_expire_and_cannot_be_forged(
    client: TestClient, auth: dict[str, str], project: factories.Project
) -> None:
    _create(client, auth, project.id, "c")
    expired = _run_token(project.id, ttl=-1)
    answer = client.get("/collections/c", headers=expired)
    assert answer.status_code == 401 and "expired" in answer.json()["detail"]
    token = tokens.mint(project.id, uuid.uuid4(), 60)
    body, signature = token.removeprefix(tokens.PREFIX).split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["p"] = str(uuid.uuid4())
    forged_body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    forged = {"Authorization": f"Bearer {tokens.PREFIX}{forged_body}.{signature}"}
    assert client.get("/collections/c", headers=forged).status_code == 401
    assert client.get("/collections/c").status_code == 401


def test_changes_are_audited_without_values(
    client: TestClient, session: Session, auth: dict[str, str], project: factories.Project
) -> None:
    _create(client, auth, project.id, "audited")
    _put(client, auth, "audited", {"k1": "secret-ish value"})
    client.delete("/collections/audited/k1", headers=auth)
    events = session.exec(
        select(AuditEvent)
        .where(AuditEvent.item_type == "collection")
        .order_by(AuditEvent.inserted_at)  # type: ignore[arg-type]
    ).all()
    assert [e.event for e in events] == ["created", "items_upserted", "items_deleted"]
    assert events[1].details["keys"] == ["k1"] and events[1].details["via"] == "api"
    assert "secret-ish value" not in json.dumps([e.details for e in events])
