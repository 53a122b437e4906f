"""The guide in a real browser, and its screenshots (docs/guide/images/).

Follows the guide's example as a reader would: the credential form, the
workflow of the build page (its job code taken from the guide), a webhook call,
the run, a failed run, retry from a step after the fix; the builder's guide
links open the right section; the Help link leads to the rendered guide.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select

from lightning_flows.accounts import service as accounts
from lightning_flows.projects.models import Project
from tests import factories
from tests.docs import guide_samples as guide
from tests.docs.test_guide import ADAPTORS, case_registry, step_name
from tests.support.runs import wait_for_run
from tests.support.web import screenshot_dir
from tests.ui_extension import test_e2e as e2e

# The browser, server and tab fixtures of the end-to-end test.
base_url, browser, open_page = e2e.base_url, e2e.browser, e2e.open_page
sign_in = e2e.sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

IMAGES = screenshot_dir(guide.GUIDE / "images")
AMINA = {
    "form": {
        "case_id": "CP-2024-0917",
        "child_name": "Amina Yusuf",
        "dob": "2016-03-14",
        "sex": "f",
        "district": "Gulu",
        "risk": "high",
    }
}
OKELLO = {
    "form": {
        "case_id": "CP-2024-0951",
        "child_name": "Okello James",
        "date_of_birth": "2015-07-02",
        "sex": "m",
        "district": "Lira",
        "risk": "low",
    }
}


def shoot(target: Any, name: str, **options: Any) -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    target.screenshot(path=str(IMAGES / name), **options)


def job_text(sample: str) -> str:
    blocks = guide.by_id("job")
    return blocks[sample].text


def create_credential(tab: Any, project_name: str, registry_url: str) -> None:
    """The credential form of the build page, for the http adaptor."""
    body = guide.by_id("credential")["registry"].json()
    tab.goto("/credentials")
    tab.get_by_label("Type").select_option("http")
    tab.get_by_role("button", name="Continue").click()
    tab.locator("#credential-name").fill("registry")
    tab.get_by_label("Username").fill(body["username"])
    tab.get_by_label("Password").fill(body["password"])
    tab.get_by_label("Base URL").fill(body["baseUrl"])
    tab.get_by_label(project_name).check()
    shoot(tab.locator("main"), "credential.png")
    tab.get_by_label("Base URL").fill(registry_url)  # the registry this test serves
    tab.get_by_role("button", name="Create credential").click()
    tab.get_by_text("Credential created.").wait_for()


def save_case_intake(api: httpx.Client, project_id: str) -> dict[str, Any]:
    """The build page's workflow, saved through the API with the guide's job code."""
    (shared,) = api.get(f"/api/projects/{project_id}/credentials").json()
    trigger, mapper, poster = (str(uuid.uuid4()) for _ in range(3))

    def job(job_id: str, sample: str, adaptor: str) -> dict[str, Any]:
        return {
            "id": job_id,
            "name": step_name(sample),
            "adaptor": ADAPTORS[adaptor],
            "body": job_text(sample),
        }

    response = api.post(
        f"/api/projects/{project_id}/workflows",
        json={
            "name": "Case intake",
            "triggers": [{"id": trigger, "type": "webhook"}],
            "jobs": [
                job(mapper, "map-case", "common"),
                {**job(poster, "post-case", "http"), "project_credential_id": shared["id"]},
            ],
            "edges": [
                {"source_trigger_id": trigger, "target_job_id": mapper},
                {
                    "source_job_id": mapper,
                    "target_job_id": poster,
                    "condition_type": "on_job_success",
                },
            ],
        },
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def open_steps(tab: Any) -> None:
    for details in tab.locator("section.step > details").all():
        if details.get_attribute("open") is None:
            details.locator("> summary").click()


def test_the_guide_example_in_the_browser(
    open_page, session: Session, base_url: str, worker
) -> None:
    owner = factories.make_user(session, email="programme.lead@example.org")
    _token, token = accounts.create_api_token(session, owner, "guide")
    api = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"})
    tab = open_page(width=1280, height=860)
    sign_in(tab, owner)

    # The Help link leads to the guide; its pages and images render.
    tab.goto("/projects")
    tab.get_by_role("link", name="Help").click()
    tab.wait_for_url(re.compile(r"/help$"))
    assert tab.get_by_role("heading", name="The Lightning Flows guide").is_visible()
    tab.get_by_role("navigation", name="Guide").get_by_role(
        "link", name="Plan an integration"
    ).click()
    tab.get_by_role("heading", name="Who does what").wait_for()

    tab.goto("/projects")
    tab.get_by_label("Name").fill("Child protection")
    tab.get_by_role("button", name="Create project").click()
    tab.wait_for_url(re.compile(r"/projects/[0-9a-f-]{36}$"))
    project = session.exec(select(Project).where(Project.name == "Child protection")).one()

    with case_registry() as registry:
        create_credential(tab, project.name, registry.url)
        workflow = save_case_intake(api, str(project.id))
        mapper = (
            workflow["jobs"][0]["id"]
            if workflow["jobs"][0]["name"] == "map case"
            else workflow["jobs"][1]["id"]
        )

        # The builder, the map case step selected; its guide link opens the right section.
        tab.goto(f"/projects/{project.id}/workflows/{workflow['id']}?s={mapper}")
        tab.locator("#guide-links").wait_for()
        tab.locator("#inspector", has_text="map case").wait_for()
        tab.set_viewport_size({"width": 1280, "height": 1500})  # the code editor too
        tab.wait_for_timeout(500)
        shoot(tab, "builder.png")
        tab.set_viewport_size({"width": 1280, "height": 860})
        with tab.context.expect_page() as opened:
            tab.get_by_role("link", name="writing a step's job code").click()
        help_tab = opened.value
        help_tab.wait_for_load_state()
        assert help_tab.url.endswith("/help/build#4-the-job-code")
        assert help_tab.get_by_role("heading", name="4. The job code").is_visible()
        help_tab.close()

        # A webhook call, the run page.
        trigger = workflow["triggers"][0]["id"]
        first = httpx.post(f"{base_url}/i/{trigger}", json=AMINA).json()
        run = wait_for_run(session, uuid.UUID(first["run_id"]))
        assert run.state == "success"
        tab.goto(f"/projects/{project.id}/runs/{run.id}")
        open_steps(tab)
        assert '"status": "registered"' in tab.locator("section.step").nth(1).inner_text()
        shoot(tab, "run.png", full_page=True)

        # The debug page's failure: the form renamed dob, the registry refuses the case.
        failing = httpx.post(f"{base_url}/i/{trigger}", json=OKELLO).json()
        failed = wait_for_run(session, uuid.UUID(failing["run_id"]))
        assert failed.state == "failed"
        tab.goto(f"/projects/{project.id}/runs/{failed.id}")
        open_steps(tab)
        error = tab.locator("section.step").nth(1).locator(".error-box")
        assert "returned 422" in error.inner_text()
        assert "child.birthDate is required" in tab.locator("section.step").nth(1).inner_text()
        shoot(tab, "run-failed.png", full_page=True)

        # The fix (map-case-v2, saved), then Retry from this step on the map case step.
        document = api.get(f"/api/projects/{project.id}/workflows/{workflow['id']}").json()
        for job in document["jobs"]:
            if job["name"] == "map case":
                job["body"] = job_text("map-case-v2")
        assert (
            api.put(
                f"/api/projects/{project.id}/workflows/{workflow['id']}", json=document
            ).status_code
            == 200
        )
        tab.reload()
        first_step = tab.locator("section.step").first
        first_step.get_by_role("button", name="Retry from this step").focus()
        shoot(first_step, "retry.png")
        first_step.get_by_role("button", name="Retry from this step").click()
        tab.wait_for_url(lambda url: str(failed.id) not in url and "/runs/" in url)
        retry = wait_for_run(session, uuid.UUID(tab.url.rstrip("/").split("/")[-1]))
        assert retry.state == "success" and retry.work_order_id == failed.work_order_id
        tab.reload()
        assert tab.get_by_role("navigation", name="Runs of this work order").is_visible()
        tab.get_by_role("link", name="Guide: fix and reprocess").click()
        tab.get_by_role("heading", name="3. Retry one run").wait_for()
    api.close()
    for name in ("build", "debug", "reprocess"):  # every screenshot, now taken, is shown
        tab.goto(f"/help/{name}")
        images = tab.evaluate(
            "Promise.all([...document.querySelectorAll('#guide-page img')].map(i =>"
            " i.decode().then(() => i.naturalWidth, () => 0)))"
        )
        assert images and all(images), (name, images)


def test_the_guide_reads_on_a_phone(open_page) -> None:
    tab = open_page(width=390, height=844)
    for name in ("plan", "build", "debug", "code"):
        tab.goto(f"/help/{name}")
        e2e.assert_fits(tab)


def test_every_image_the_guide_shows_exists() -> None:
    for page in guide.guide_pages():
        for name in re.findall(r"\]\(images/([^)]+)\)", page.text):
            assert (guide.GUIDE / "images" / name).is_file(), f"docs/guide/{page.name} shows {name}"
            assert (guide.GUIDE / "images" / name).stat().st_size > 1000, name
