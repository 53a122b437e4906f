"""Credential pages: the schema form, secrets never shown again, raw JSON, sharing,
transfer and delete, and that a credential is its owner's alone."""

from __future__ import annotations

import re
import uuid

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from lightning_flows.core.db import get_engine
from lightning_flows.credentials.models import Credential, ProjectCredential
from tests import factories
from tests.ui_extension.pages.conftest import SignIn, alerts, post_form
from ui_extension.pages import schema_form

HTTP_FORM = {
    "schema": "http",
    "mode": "form",
    "name": "registry",
    "body.username": "clerk",
    "body.password": "pa55-secret-word",
    "body.baseUrl": "https://registry.example.org",
}


def _create(page: TestClient, **extra: object) -> Credential:
    response = post_form(page, "/credentials/new", {**HTTP_FORM, **extra})
    assert response.status_code == 303, alerts(response.text)
    return _credential_at(page, response.headers["location"])


def _credential_at(page: TestClient, location: str) -> Credential:
    """The stored credential a page URL names (read afresh from the database)."""
    credential_id = uuid.UUID(location.split("/credentials/")[1].split("?")[0])
    with Session(get_engine()) as db:
        found = db.get(Credential, credential_id)
        assert found is not None
        return found


def test_the_form_is_generated_from_the_adaptor_schema(page: TestClient) -> None:
    html = page.get("/credentials/new?schema=http").text
    assert re.search(r'name="body.username"\s+type="text"', html)
    assert re.search(r'name="body.password"\s+type="password"', html)
    assert re.search(r'name="body.access_token"\s+type="password"', html)
    assert re.search(r'name="body.baseUrl"\s+type="url"', html)
    assert re.search(r'<textarea id="field-tls" name="body.tls"', html)
    assert 'for="field-password">Password</label>' in html
    assert 'id="raw-json-link"' in html


def test_required_fields_are_marked() -> None:
    fields = schema_form.form_fields(
        {
            "properties": {
                "host": {"type": "string"},
                "port": {"type": "integer"},
                "ssl": {"type": "boolean"},
                "mode": {"enum": ["a", "b"]},
                "apiKey": {"type": "string", "writeOnly": True},
            },
            "required": ["host", "apiKey"],
        }
    )
    kinds = {f.name: (f.kind, f.required, f.secret) for f in fields}
    assert kinds == {
        "host": ("text", True, False),
        "port": ("integer", False, False),
        "ssl": ("checkbox", False, False),
        "mode": ("select", False, False),
        "apiKey": ("password", True, True),
    }
    body = schema_form.body_from_form(
        fields, {"body.host": " h ", "body.port": "5432", "body.ssl": "on", "body.apiKey": ""}
    )
    assert body == {"host": "h", "port": 5432, "ssl": True, "apiKey": ""}


def test_oauth_form_marks_required_fields(page: TestClient) -> None:
    html = page.get("/credentials/new?schema=oauth").text
    assert re.search(r'for="field-clientId">Client ID <span class="required"', html)
    assert re.search(r'name="body.clientSecret"\s+type="password"', html)


def test_create_through_the_form_shares_it_and_never_shows_the_secret(
    page: TestClient, session: Session, project, user
) -> None:
    credential = _create(page, project_ids=str(project.id), production="on")
    assert credential.body == {
        "username": "clerk",
        "password": "pa55-secret-word",
        "baseUrl": "https://registry.example.org",
    }
    assert credential.production and credential.user_id == user.id
    link = session.exec(select(ProjectCredential)).one()
    assert link.project_id == project.id
    for path in (
        "/credentials",
        f"/credentials/{credential.id}",
        f"/credentials/{credential.id}?mode=raw",
    ):
        html = page.get(path).text
        assert "pa55-secret-word" not in html
    listing = page.get("/credentials").text
    assert "registry" in listing and project.name in listing and "production" in listing
    edit = page.get(f"/credentials/{credential.id}").text
    assert 'value="clerk"' in edit and "leave blank to keep the saved value" in edit


def test_edit_keeps_a_secret_left_blank_and_changes_the_rest(page: TestClient) -> None:
    credential = _create(page)
    response = post_form(
        page,
        f"/credentials/{credential.id}",
        {**HTTP_FORM, "name": "registry-2", "body.username": "boss", "body.password": ""},
    )
    assert response.status_code == 303
    saved = _credential_at(page, f"/credentials/{credential.id}")
    assert saved.name == "registry-2"
    assert saved.body["username"] == "boss" and saved.body["password"] == "pa55-secret-word"
    assert "access_token" not in saved.body


def test_raw_json_create_and_edit_keep_masked_secrets(page: TestClient) -> None:
    response = post_form(
        page,
        "/credentials/new",
        {
            "schema": "raw",
            "mode": "raw",
            "name": "raw one",
            "raw_body": '{"apiKey": "k-123", "host": "h"}',
        },
    )
    assert response.status_code == 303
    credential = _credential_at(page, response.headers["location"])
    html = page.get(f"/credentials/{credential.id}").text
    assert "k-123" not in html and "********" in html
    response = post_form(
        page,
        f"/credentials/{credential.id}",
        {"mode": "raw", "name": "raw one", "raw_body": '{"apiKey": "********", "host": "h2"}'},
    )
    assert response.status_code == 303
    assert _credential_at(page, f"/credentials/{credential.id}").body == {
        "apiKey": "k-123",
        "host": "h2",
    }


def test_invalid_input_is_shown_and_secrets_are_not_refilled(page: TestClient) -> None:
    bad_json = post_form(
        page, "/credentials/new", {**HTTP_FORM, "mode": "raw", "raw_body": "{not json"}
    )
    assert bad_json.status_code == 422 and "not valid JSON" in " ".join(alerts(bad_json.text))
    bad_tls = post_form(page, "/credentials/new", {**HTTP_FORM, "body.tls": "[1, 2"})
    assert bad_tls.status_code == 422 and "TLS Options: enter JSON" in " ".join(
        alerts(bad_tls.text)
    )
    assert "pa55-secret-word" not in bad_tls.text and 'value="clerk"' in bad_tls.text
    nameless = post_form(page, "/credentials/new", {**HTTP_FORM, "name": ""})
    assert nameless.status_code == 422 and "Give the credential a name" in nameless.text


def test_schema_validation_errors_name_the_field(page: TestClient) -> None:
    response = post_form(
        page,
        "/credentials/new",
        {"schema": "oauth", "mode": "form", "name": "o", "body.clientId": "c"},
    )
    assert response.status_code == 422
    assert any("is required" in message for message in alerts(response.text))


def test_transfer_and_delete(page: TestClient, session: Session, project, user) -> None:
    other = factories.make_user(session)
    credential = _create(page)
    refused = post_form(
        page, f"/credentials/{credential.id}/transfer", {"email": "nobody@example.org"}
    )
    assert refused.status_code == 422 and "no active user" in refused.text
    moved = post_form(page, f"/credentials/{credential.id}/transfer", {"email": other.email})
    assert moved.status_code == 303 and moved.headers["location"] == "/credentials?done=transferred"
    assert page.get(f"/credentials/{credential.id}").status_code == 404
    kept = _create(page, name="to delete")
    gone = post_form(page, f"/credentials/{kept.id}/delete", {})
    assert gone.status_code == 303
    session.expire_all()
    assert session.get(Credential, kept.id) is None


def test_others_cannot_see_or_change_a_credential(
    page: TestClient, sign_in_as: SignIn, session: Session
) -> None:
    credential = _create(page)
    intruder = sign_in_as(factories.make_user(session))
    assert intruder.get(f"/credentials/{credential.id}").status_code == 404
    response = post_form(intruder, f"/credentials/{credential.id}/delete", {})
    assert response.status_code == 404
    assert "registry" not in intruder.get("/credentials").text


def test_sharing_with_a_project_needs_editor_rights(
    sign_in_as: SignIn, session: Session, project, viewer
) -> None:
    client = sign_in_as(viewer)
    html = client.get("/credentials/new?schema=http").text
    assert f'id="share-{project.id}"' not in html
    response = post_form(client, "/credentials/new", {**HTTP_FORM, "project_ids": str(project.id)})
    assert response.status_code == 403
    assert session.exec(select(Credential)).first() is None


def test_forms_need_a_csrf_token(page: TestClient, session: Session) -> None:
    response = page.post("/credentials/new", data=HTTP_FORM, follow_redirects=False)
    assert response.status_code == 403
    assert session.exec(select(Credential)).first() is None


def test_oauth_credential_connects_through_the_provider(
    page: TestClient, session: Session, user
) -> None:
    body = {
        "clientId": "lf-client",
        "clientSecret": "shh",
        "authorizationUrl": "https://idp.example.org/authorize",
        "tokenUrl": "https://idp.example.org/token",
    }
    credential = factories.make_owned_credential(session, user, body, schema="oauth")
    html = page.get(f"/credentials/{credential.id}").text
    assert "Not connected yet" in html and 'id="connect-oauth"' in html
    response = post_form(page, f"/credentials/{credential.id}/oauth", {})
    assert response.status_code == 303
    location = response.headers["location"]
    assert (
        location.startswith("https://idp.example.org/authorize?")
        and "client_id=lf-client" in location
    )
    assert "shh" not in location
