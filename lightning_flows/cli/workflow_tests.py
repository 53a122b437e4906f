"""`lightning-flows test`: run a project's test cases on a server, for CI.

Like `deploy` and `pull` it talks to a running instance's API with a personal
access token (OpenFn-style config: `endpoint`, `apiKey`, `statePath`; or
`OPENFN_ENDPOINT` / `OPENFN_API_KEY`). The cases run on each workflow's latest
saved version; nothing is recorded in history.

Exit codes: 0 every case passed (or there are none), 1 a case failed,
2 a usage error (no project, no API key, the server refused or cannot be reached).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from lightning_flows.core.errors import InvalidInput
from lightning_flows.provisioning import files
from lightning_flows.provisioning.client import ApiClient, ClientError, load_config


def _usage(message: str) -> NoReturn:
    typer.secho(f"Error: {message}", fg="red", err=True)
    raise typer.Exit(2)


def _project_id(project: str | None, state_path: Path) -> str:
    if project:
        return project
    try:
        state = files.read_state(state_path)
    except InvalidInput as exc:
        _usage(exc.message)
    if not state or not state.get("id"):
        _usage(f"Name the project with --project ID (no project id in {state_path}).")
    return str(state["id"])


def _report(result: dict[str, Any]) -> None:
    for case in result.get("results") or []:
        label = f"{case['workflow']} / {case['name']}"
        if case["passed"]:
            typer.secho(f"PASS  {label}", fg="green")
            continue
        typer.secho(f"FAIL  {label}", fg="red")
        for problem in case.get("problems") or []:
            typer.echo(f"      {problem}")
        if case.get("diff"):
            typer.echo("\n".join(f"      {line}" for line in case["diff"].splitlines()))


def test(
    project: Annotated[
        str | None,
        typer.Option("--project", "-p", help="The project's id (default: the state file's)."),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="JSON with endpoint, apiKey, statePath (as deploy)."),
    ] = None,
) -> None:
    """Run a project's test cases on a server, against its saved workflows.

    Exit codes: 0 all passed (or there are none), 1 a case failed (a diff is printed
    for each), 2 usage error (no project, no API key, server refused or unreachable).
    """
    try:
        settings = load_config(config)
    except ClientError as exc:
        _usage(str(exc))
    project_id = _project_id(project, settings.state_path)
    try:
        with ApiClient(settings) as api:
            result = api.run_test_cases(project_id)
    except ClientError as exc:
        _usage(str(exc))
    _report(result)
    passed, failed = int(result.get("passed", 0)), int(result.get("failed", 0))
    if not passed and not failed:
        typer.echo("This project has no test cases.")
        return
    typer.echo(f"{passed} passed, {failed} failed.")
    if failed:
        raise typer.Exit(1)
