"""Collections and the template gallery in a real browser (Debian's chromium, Playwright)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from lightning_flows.collections import items, service
from tests import factories
from tests.ui_extension.builder.conftest import SCREENSHOTS, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def row(page: Any, key: str) -> Any:
    return page.locator(f'tr[data-key="{key}"]')


def add_item(page: Any, key: str, value: str) -> None:
    page.get_by_label("Key", exact=True).fill(key)
    page.get_by_label(re.compile(r"^Value \(JSON")).fill(value)
    page.get_by_role("button", name="Add item").click()
    row(page, key).wait_for()


def test_manage_items_search_import_and_export(
    page: Any, session: Session, user: factories.User, project: Any, tmp_path: Path
) -> None:
    sign_in(page, user)
    page.goto(f"/projects/{project.id}/collections")
    page.get_by_label("Name").fill("facility-codes")
    page.get_by_role("button", name="Create collection").click()
    page.wait_for_url(re.compile(r"/collections/facility-codes$"))

    add_item(page, "F-1", '{"name": "Clinic 1"}')
    add_item(page, "F-2", '"Clinic 2"')
    add_item(page, "L-1", '{"name": "Lab 1"}')
    assert page.locator("#item-count").inner_text() == "3 of 3 items."

    # edit F-1 in place
    row(page, "F-1").locator("summary").click()
    page.get_by_label("New value of F-1").fill('{"name": "Clinic One"}')
    page.get_by_role("button", name="Save F-1").click()
    row(page, "F-1").locator(".item-value").filter(has_text="Clinic One").wait_for()

    # a value that is not JSON is explained, and nothing is saved
    add_form = page.get_by_role("form", name="Add an item")
    add_form.get_by_label("Key", exact=True).fill("bad")
    add_form.get_by_label(re.compile(r"^Value \(JSON")).fill("not json")
    add_form.get_by_role("button", name="Add item").click()
    assert "not JSON" in page.get_by_role("alert").inner_text()

    # search by pattern, then by text
    page.get_by_role("searchbox", name="Search keys").fill("F-*")
    page.get_by_role("button", name="Search").click()
    page.locator("#item-count").filter(has_text="2 of 3 items match").wait_for()
    assert page.locator("tbody tr").count() == 2
    page.get_by_role("searchbox", name="Search keys").fill("L-")
    page.get_by_role("button", name="Search").click()
    page.locator("#item-count").filter(has_text="1 of 3 items match").wait_for()
    page.get_by_role("link", name="Clear").click()

    # delete
    row(page, "F-2").get_by_role("button", name="Delete F-2").click()
    page.locator("#item-count").filter(has_text="2 of 2 items").wait_for()
    assert row(page, "F-2").count() == 0

    # import a CSV and a JSON file
    csv_file = tmp_path / "more.csv"
    csv_file.write_text('key,value\nF-3,"{""name"": ""Clinic 3""}"\nF-4,Clinic 4\n')
    page.set_input_files("#import-file", str(csv_file))
    page.get_by_role("button", name="Import").click()
    page.locator("#import-done").filter(has_text="Imported 2 items").wait_for()
    json_file = tmp_path / "more.json"
    json_file.write_text(json.dumps([{"key": "F-5", "value": [5]}]))
    page.set_input_files("#import-file", str(json_file))
    page.get_by_role("button", name="Import").click()
    page.locator("#import-done").filter(has_text="Imported 1 item.").wait_for()
    page.screenshot(path=str(SCREENSHOTS / "collection-items.png"), full_page=True)

    # export both formats
    with page.expect_download() as download:
        page.locator("#export-json").click()
    exported = json.loads(Path(download.value.path()).read_text())
    assert exported == [
        {"key": "F-1", "value": {"name": "Clinic One"}},
        {"key": "L-1", "value": {"name": "Lab 1"}},
        {"key": "F-3", "value": {"name": "Clinic 3"}},
        {"key": "F-4", "value": "Clinic 4"},
        {"key": "F-5", "value": [5]},
    ]
    with page.expect_download() as download:
        page.locator("#export-csv").click()
    lines = Path(download.value.path()).read_text().splitlines()
    assert lines[0] == "key,value" and len(lines) == 6

    collection = service.get_by_name(session, project.id, "facility-codes")
    assert items.count(session, collection) == 5


def test_start_a_workflow_from_the_gallery(page: Any, user: factories.User, project: Any) -> None:
    sign_in(page, user)
    page.goto(f"/projects/{project.id}")
    page.get_by_role("link", name="New workflow from a template").click()
    page.wait_for_url(re.compile(r"/templates$"))
    cards = page.locator(".gallery article")
    assert cards.count() >= 5
    page.screenshot(path=str(SCREENSHOTS / "template-gallery.png"), full_page=True)
    card = page.get_by_role("article", name="Validate and branch")
    card.get_by_label("Workflow name").fill("Intake checks")
    card.get_by_role("button", name="Use Validate and branch").click()
    page.wait_for_url(re.compile(r"/workflows/[0-9a-f-]{36}"))
    page.wait_for_selector("#canvas .node")
    for step in ("Validate", "Accept", "Reject"):
        assert (
            page.locator("#canvas")
            .get_by_role("button", name=re.compile(rf"^Step: {step} \("))
            .count()
            == 1
        )
