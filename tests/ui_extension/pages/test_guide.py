"""The guide served in the app: /help renders docs/guide, safely, and every page links to it."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlmodel import Session

from tests import factories
from ui_extension import guide


def test_every_guide_page_renders_with_the_guide_navigation(client: TestClient) -> None:
    pages = guide.guide_pages()
    assert [p["name"] for p in pages][:7] == guide.ORDER
    for entry in pages:
        response = client.get(entry["url"])
        assert response.status_code == 200, entry
        assert f"<title>{entry['title']}, Lightning Flows</title>" in response.text
        assert 'aria-current="page"' in response.text
        assert 'id="help-link"' in response.text  # readable signed out, with the usual header


def test_links_between_pages_anchors_and_images_work_in_the_app(client: TestClient) -> None:
    build = client.get("/help/build").text
    assert 'href="/help/debug"' in build
    assert 'href="/help/plan#who-does-what"' in build
    assert 'id="4-the-job-code"' in build and 'id="5-test-with-a-sample-input"' in build
    assert '<code class="language-js">' in build
    images = re.findall(r'<img src="(/help/images/[a-z0-9-]+\.png)"', build)
    assert images
    for src in images:
        image = client.get(src)
        assert image.status_code == 200 and image.headers["content-type"] == "image/png", src
    plan = client.get("/help/plan").text
    assert 'id="who-does-what"' in plan and "<table>" in plan
    code = client.get("/help/code").text
    assert 'href="/help/ref/projects-as-code#git-sync"' in code
    assert client.get("/help/ref/projects-as-code").status_code == 200


def test_unknown_pages_and_paths_outside_the_guide_answer_404(client: TestClient) -> None:
    for path in (
        "/help/nope",
        "/help/..%2Fprojects-as-code",
        "/help/ref/..%2F..%2Fpyproject",
        "/help/images/..%2F..%2Fscreenshots%2Frun.png",
        "/help/images/missing.png",
        "/help/Build",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
    assert "no such page in the guide" in client.get("/help/nope").text


def test_markdown_is_rendered_without_raw_html_or_script_links() -> None:
    html = guide._markdown().render(
        '<script>alert(1)</script>\n\n[click](javascript:alert(1)) <img src=x onerror="alert(1)">'
    )
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'href="javascript' not in html
    assert "<img" not in html


def test_help_link_on_the_main_pages_and_guide_links_from_builder_and_run_page(
    client: TestClient, session: Session, page: TestClient, project: factories.Project
) -> None:
    workflow = factories.make_workflow(session, project, jobs=["a"])
    enqueued = factories.make_run(session, workflow, {"data": {}})
    for path in (
        "/projects",
        f"/projects/{project.id}",
        f"/projects/{project.id}/history",
        "/credentials",
        f"/projects/{project.id}/workflows/{workflow.id}",
        f"/projects/{project.id}/runs/{enqueued.run.id}",
    ):
        response = page.get(path)
        assert response.status_code == 200, path
        assert '<a href="/help" id="help-link">Help</a>' in response.text, path
    builder = page.get(f"/projects/{project.id}/workflows/{workflow.id}").text
    assert 'href="/help/build#4-the-job-code" target="_blank"' in builder
    assert 'href="/help/debug" target="_blank"' in builder
    run = page.get(f"/projects/{project.id}/runs/{enqueued.run.id}").text
    assert 'href="/help/debug"' in run and 'href="/help/reprocess"' in run
    page.cookies.clear()
    assert '<a href="/help" id="help-link">Help</a>' in client.get("/login").text
