"""Projects as code in the UI: export as YAML, import with a preview of the diff first."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from lightning_flows.workflows.models import Job
from tests import factories
from tests.ui_extension.pages.conftest import SignIn, alerts, post_form


def _export(page: TestClient, project) -> str:
    response = page.get(f"/projects/{project.id}/project.yaml")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/yaml")
    assert "attachment;" in response.headers["content-disposition"]
    return response.text


def test_export_then_preview_then_apply(page: TestClient, session: Session, project) -> None:
    factories.make_workflow(session, project, name="intake", jobs=["fetch"])
    text = _export(page, project)
    assert "intake:" in text and "fetch" in text
    changed = text.replace("fn(state => state);", "fn(state => state); // v2")
    settings = f"/projects/{project.id}/settings"

    preview = post_form(page, f"{settings}/import", {"yaml": changed}, csrf_page=settings)
    assert preview.status_code == 200
    assert "Import preview" in preview.text and "+fn(state =&gt; state); // v2" in preview.text
    assert session.exec(select(Job)).one().body == "fn(state => state);"  # nothing written yet

    applied = post_form(page, f"{settings}/import/apply", {"yaml": changed}, csrf_page=settings)
    assert applied.status_code == 303 and "done=imported" in applied.headers["location"]
    session.expire_all()
    assert session.exec(select(Job)).one().body == "fn(state => state); // v2"


def test_import_accepts_an_uploaded_file(page: TestClient, session, project) -> None:
    factories.make_workflow(session, project, name="intake", jobs=["fetch"])
    text = _export(page, project).replace("name: intake", "name: intake-renamed", 1)
    settings = f"/projects/{project.id}/settings"
    from tests.support.web import csrf_token

    response = page.post(
        f"{settings}/import",
        data={"csrf_token": csrf_token(page, settings), "yaml": ""},
        files={"file": ("project.yaml", text.encode(), "application/yaml")},
    )
    assert response.status_code == 200 and "intake-renamed" in response.text


def test_unchanged_document_and_invalid_yaml(page: TestClient, session, project) -> None:
    factories.make_workflow(session, project, name="intake", jobs=["fetch"])
    settings = f"/projects/{project.id}/settings"
    same = post_form(
        page, f"{settings}/import", {"yaml": _export(page, project)}, csrf_page=settings
    )
    assert "changes nothing" in same.text and 'id="apply-import"' not in same.text
    broken = post_form(page, f"{settings}/import", {"yaml": "name: [unclosed"}, csrf_page=settings)
    assert broken.status_code == 422 and "Invalid YAML" in " ".join(alerts(broken.text))
    empty = post_form(page, f"{settings}/import", {"yaml": "  "}, csrf_page=settings)
    assert empty.status_code == 422 and "Paste a project.yaml" in empty.text


def test_viewers_export_but_cannot_import(
    sign_in_as: SignIn, session: Session, project, viewer
) -> None:
    client = sign_in_as(viewer)
    text = _export(client, project)
    settings = f"/projects/{project.id}/settings"
    assert 'id="preview-import"' not in client.get(settings).text
    response = post_form(client, f"{settings}/import", {"yaml": text}, csrf_page=settings)
    assert response.status_code == 403
    outsider = sign_in_as(factories.make_user(session))
    assert outsider.get(f"/projects/{project.id}/project.yaml").status_code == 404
