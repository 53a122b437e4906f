"""`lightning-flows runs retry --project P --filter ...`: a bulk retry from the command line."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from lightning_flows.cli.main import app
from tests import factories
from tests.support.work_orders import failed_work_orders as _failed
from tests.support.work_orders import runs_of as _runs

runner = CliRunner()


@pytest.fixture
def workflow(session: Session, project) -> factories.WorkflowPublic:
    return factories.make_workflow(session, project, jobs=["fetch", "load"])


def test_bulk_retry_by_filter_prints_the_batch_progress(
    session: Session,
    project,
    workflow,
) -> None:
    failed = _failed(session, workflow, 2)
    crashed = _failed(session, workflow, 1, state="crashed")
    args = ["runs", "retry", "--project", str(project.id), "--filter", "status=failed"]
    result = runner.invoke(app, [*args, "--request-id", "cli-1"])
    assert result.exit_code == 0, result.output
    progress = json.loads(result.output)
    assert (progress["total"], progress["queued"], progress["skipped"]) == (2, 2, 0)
    assert all(len(_runs(session, wo)) == 2 for wo in failed)
    assert len(_runs(session, crashed[0])) == 1
    again = runner.invoke(app, [*args, "--request-id", "cli-1"])
    assert json.loads(again.output)["id"] == progress["id"]


def test_bulk_retry_explains_bad_arguments(project) -> None:
    bad = runner.invoke(app, ["runs", "retry", "--project", str(project.id), "--filter", "x"])
    assert bad.exit_code == 2 and "KEY=VALUE" in bad.output
    none = runner.invoke(app, ["runs", "retry"])
    assert none.exit_code == 2 and "--step" in none.output
    status = runner.invoke(
        app, ["runs", "retry", "--project", str(project.id), "--filter", "status=broken"]
    )
    assert status.exit_code == 2 and "status" in status.output
