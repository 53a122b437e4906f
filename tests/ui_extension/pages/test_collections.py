"""The Collections pages: roles, import/export round trip, a person's edits audited."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from lightning_flows.audit.models import AuditEvent
from lightning_flows.collections import items, service
from lightning_flows.projects.models import Role
from tests import factories
from tests.ui_extension.pages.conftest import SignIn, alerts, member, post_form


def test_import_csv_and_json_then_export_both(
    page: TestClient, session: Session, project: factories.Project
) -> None:
    service.create_collection(session, project.id, "codes", None)
    base = f"/projects/{project.id}/collections/codes"
    token_page = base
    csv_text = 'key,value\nfac-1,"{""name"": ""Clinic A""}"\nfac-2,plain text\n'
    answer = page.post(
        f"{base}/import",
        data={"csrf_token": _csrf(page, token_page)},
        files={"file": ("codes.csv", csv_text.encode(), "text/csv")},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    doc = [{"key": "fac-3", "value": [1, 2]}, {"key": "fac-1", "value": {"name": "Clinic A2"}}]
    answer = page.post(
        f"{base}/import",
        data={"csrf_token": _csrf(page, token_page)},
        files={"file": ("codes.json", json.dumps(doc).encode(), "application/json")},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    exported = page.get(f"{base}/export.json").json()
    assert exported == [
        {"key": "fac-1", "value": {"name": "Clinic A2"}},
        {"key": "fac-2", "value": "plain text"},
        {"key": "fac-3", "value": [1, 2]},
    ]
    csv_out = page.get(f"{base}/export.csv").text
    assert csv_out.splitlines()[0] == "key,value" and '"{""name"": ""Clinic A2""}"' in csv_out
    # what an export gives, an import takes back unchanged
    collection = service.get_by_name(session, project.id, "codes")
    items.delete_matching(session, collection, items.ItemQuery(), None, via="test")
    page.post(
        f"{base}/import",
        data={"csrf_token": _csrf(page, token_page)},
        files={"file": ("codes.csv", csv_out.encode(), "text/csv")},
    )
    assert page.get(f"{base}/export.json").json() == exported


def test_bad_input_is_explained(
    page: TestClient, session: Session, project: factories.Project
) -> None:
    service.create_collection(session, project.id, "codes", None)
    base = f"/projects/{project.id}/collections/codes"
    answer = post_form(page, f"{base}/items", {"key": "k", "value": "not json"}, csrf_page=base)
    assert answer.status_code == 422 and "not JSON" in " ".join(alerts(answer.text))
    bad_file = page.post(
        f"{base}/import",
        data={"csrf_token": _csrf(page, base)},
        files={"file": ("x.csv", b"name,age\na,1\n", "text/csv")},
    )
    assert bad_file.status_code == 422 and "'key' and 'value'" in " ".join(alerts(bad_file.text))
    bad_name = post_form(
        page, f"/projects/{project.id}/collections", {"name": "Bad Name"}, csrf_page=base
    )
    assert bad_name.status_code == 422 and "URL safe" in " ".join(alerts(bad_name.text))


def test_viewers_read_and_editors_write(
    sign_in_as: SignIn, session: Session, project: factories.Project
) -> None:
    service.create_collection(session, project.id, "codes", None)
    base = f"/projects/{project.id}/collections/codes"
    viewer = sign_in_as(member(session, project, Role.VIEWER))
    shown = viewer.get(base)
    assert shown.status_code == 200 and "Add an item" not in shown.text
    refused = post_form(viewer, f"{base}/items", {"key": "k", "value": "1"}, csrf_page=base)
    assert refused.status_code == 403
    editor_user = member(session, project, Role.EDITOR)
    editor = sign_in_as(editor_user)
    assert (
        post_form(editor, f"{base}/items", {"key": "k", "value": "1"}, csrf_page=base).status_code
        == 303
    )
    event = session.exec(select(AuditEvent).where(AuditEvent.event == "items_upserted")).one()
    assert event.actor_id == editor_user.id and event.details["via"] == "ui"
    changes = editor.get(base).text.split('id="recent-changes"')[1].split("</ul>")[0]
    assert "items upserted (1: k) by " + editor_user.email + " (ui)" in " ".join(changes.split())
    stranger = sign_in_as(factories.make_user(session))
    assert stranger.get(base).status_code == 404


def _csrf(client: TestClient, path: str) -> str:
    from tests.support.web import csrf_token

    return csrf_token(client, path)
