"""The request form of an HTTP step in chromium: filled in, saved, opened again as a form; the
saved code sends the request the form describes; edited by hand, the form steps aside."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from lightning_flows.engine.execution_plan import ExecutionPlan, PlanStep
from lightning_flows.engine.local import run_local
from tests import factories
from tests.support.http_server import local_http_server
from tests.ui_extension.builder.conftest import SCREENSHOTS
from tests.ui_extension.builder.test_builder_browser import (
    node,
    open_builder,
    sign_in,
    stored,
    write_code,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

HTTP = "@openfn/language-http@7.2.10"


def add_row(page: Any, button: str, prefix: str, name: str, source: str, value: str) -> None:
    """Add a row to a list of the form (query, headers, body) and fill it in."""
    page.get_by_role("button", name=button).click()
    rows = page.locator(f"input[aria-label^='{prefix} '][aria-label$=' name']")
    n = rows.count()
    page.get_by_label(f"{prefix} {n} name").fill(name)
    page.get_by_label(f"{prefix} {n} source").select_option(source)
    page.get_by_label(f"{prefix} {n} value").fill(value)


def test_request_form_round_trip_and_the_request_it_sends(page, session, user, project) -> None:
    workflow = factories.make_workflow(session, project, jobs=["post patient"], adaptor=HTTP)
    job_id = workflow.jobs[0].id
    sign_in(page, user)
    open_builder(page, project, workflow, f"?s={job_id}")
    page.get_by_role("button", name="Build the request with a form").click()
    page.get_by_label("Method").select_option("POST")
    page.get_by_label("URL or path").fill("/patients")
    add_row(page, "Add query parameter", "Query parameter", "district", "state", "$.data.district")
    add_row(page, "Add header", "Header", "X-Source", "text", "lightning")
    add_row(page, "Add body field", "Body field", "id", "state", "$.data.patient.id")
    add_row(page, "Add body field", "Body field", "program", "text", "maternal health")
    add_row(page, "Add body field", "Body field", "visits", "json", "2")
    page.get_by_label("Only this path in the body, as data:").check()
    page.get_by_label("Response path to keep").fill("resource")
    page.locator("#inspector .cm-content", has_text="data: state.data.resource").wait_for()

    page.get_by_label("Body field 2 value").fill("")  # a mistake is named, the code kept
    page.get_by_label("Body field 2 source").select_option("state")
    assert "is not a reference into state" in page.locator(".request-form .alert").inner_text()
    page.get_by_label("Body field 2 source").select_option("text")
    page.get_by_label("Body field 2 value").fill("maternal health")
    assert page.locator(".request-form .alert").is_hidden()

    page.get_by_role("button", name="Save").click()
    page.get_by_role("status").filter(has_text="Saved (version 2)").wait_for()
    body = stored(session, workflow.id).jobs[0].body
    assert body.startswith("// @request-form {")
    assert '"program": "maternal health",' in body

    page.reload()
    page.wait_for_selector("#canvas .react-flow__node")
    assert page.get_by_label("Method").input_value() == "POST"
    assert page.get_by_label("URL or path").input_value() == "/patients"
    assert page.get_by_label("Body field 1 value").input_value() == "$.data.patient.id"
    assert page.get_by_label("Response path to keep").input_value() == "resource"
    page.locator("#inspector .request-form").screenshot(path=str(SCREENSHOTS / "request-form.png"))

    with local_http_server() as server:
        server.route("POST", "/patients", lambda _got: (201, {"resource": {"id": "fhir-7"}}))
        step = PlanStep(id="post", name="post", adaptor="http", body=body)
        state = {
            "configuration": {"baseUrl": server.url},
            "data": {"district": "Gulu", "patient": {"id": "p-1"}},
        }
        run = run_local(ExecutionPlan(steps={"post": step}, edges=[], start="post"), state)
    assert run.walk.state == "success", run.walk.error_message
    (got,) = server.received
    url = urlsplit(got.path)
    assert (got.method, url.path, parse_qs(url.query)) == (
        "POST",
        "/patients",
        {"district": ["Gulu"]},
    )
    assert {k.lower(): v for k, v in got.headers.items()}["x-source"] == "lightning"
    assert got.body == {"id": "p-1", "program": "maternal health", "visits": 2}
    assert run.output is not None and run.output["data"] == {"id": "fhir-7"}


def test_code_edited_by_hand_shows_a_note_instead_of_the_form(page, session, user, project) -> None:
    form = {"method": "GET", "url": "/facilities", "query": [], "headers": [], "body": []}
    form |= {"keep": "body", "keepPath": ""}
    written = (
        f"// @request-form {json.dumps(form, separators=(',', ':'))}\n"
        "// Written by the request form. Edit the form to change it:"
        " by hand, the form no longer applies.\n"
        'request("GET", "/facilities");\n'
    )
    workflow = factories.make_workflow(session, project, jobs={"fetch": written}, adaptor=HTTP)
    sign_in(page, user)
    open_builder(page, project, workflow, f"?s={workflow.jobs[0].id}")
    assert page.get_by_label("URL or path").input_value() == "/facilities"  # the form, again

    write_code(page, written.replace('"/facilities");', '"/facilities?active=true");'))
    note = page.locator("[data-form-stale]")
    note.wait_for()
    assert "the request form no longer applies" in note.inner_text()
    assert page.get_by_label("URL or path").count() == 0
    page.get_by_role("button", name="Save").click()
    page.get_by_role("status").filter(has_text="Saved (version 2)").wait_for()

    page.reload()
    page.locator("[data-form-stale]").wait_for()  # opened in the code editor, with the note
    assert "active=true" in page.locator("#inspector .cm-content").inner_text()
    node(page, "fetch").wait_for()
