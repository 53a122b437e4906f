"""The builder's step panel sets a job's automatic retries and shows its step limits."""

from __future__ import annotations

import pytest

from tests import factories
from tests.ui_extension.builder.test_builder_browser import node, open_builder, sign_in, stored

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_retries_are_set_in_the_step_panel_and_saved(page, session, user, project) -> None:
    workflow = factories.make_workflow(session, project, jobs=["a"])
    sign_in(page, user)
    open_builder(page, project, workflow)
    node(page, "a").click()
    page.get_by_label("Attempts").fill("3")
    page.get_by_label("Wait before a retry").fill("5")
    page.get_by_label("Also retry when the step is killed (time or memory limit)").check()
    assert "Limits per step:" in page.locator("#step-limits").inner_text()
    page.get_by_role("button", name="Save").click()
    page.get_by_role("status").filter(has_text="Saved (version 2)").wait_for()
    job = stored(session, workflow.id).jobs[0]
    assert (job.max_attempts, job.retry_delay_seconds, job.retry_on_kill) == (3, 5, True)
