"""The builder shows the per-step limits a project's runs get and the jobs' retries."""

from __future__ import annotations

from lightning_flows.projects.models import Project
from tests import factories
from tests.ui_extension.builder.helpers import Builder
from tests.ui_extension.builder.test_builder_pages import bootstrap


def test_bootstrap_carries_run_limits_and_retry_fields(client, session, user, project) -> None:
    row = session.get(Project, project.id)
    row.step_timeout_seconds = 20
    session.add(row)
    session.commit()
    workflow = factories.make_workflow(session, project, jobs=["a"])
    data = bootstrap(Builder(client, user, project).page(workflow.id))
    limits = data["run_limits"]
    assert limits["step_timeout_seconds"] == {"value": 20, "source": "project"}
    assert limits["state_limit_bytes"]["source"] == "instance"
    job = data["document"]["jobs"][0]
    assert (job["max_attempts"], job["retry_delay_seconds"], job["retry_on_kill"]) == (1, 0, False)
