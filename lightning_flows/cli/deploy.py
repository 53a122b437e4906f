"""`lightning-flows deploy`, `pull` and `sync pull`: projects as code against a server.

deploy:    read the spec (job bodies from their files) and the state (ids), show
           what would change on the server, ask, then provision and write the new state.
pull:      write a project's spec, state and job bodies as files.
sync pull: have the server pull the project's linked git branch and provision it.
Configuration as OpenFn's CLI reads it (see provisioning/client.py).
Exit codes: 0 done (or nothing to do), 1 the server refused, 2 bad local files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer

from lightning_flows.core.errors import InvalidInput
from lightning_flows.provisioning import files
from lightning_flows.provisioning.client import ApiClient, ClientError, DeployConfig, load_config
from lightning_flows.provisioning.diff import ProjectDiff, render
from lightning_flows.provisioning.state import merge_spec_and_state, rekey

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="JSON with endpoint, apiKey, specPath, statePath (as OpenFn's)."
    ),
]
SpecOption = Annotated[Path | None, typer.Option("--spec", help="Overrides specPath.")]
StateOption = Annotated[Path | None, typer.Option("--state", help="Overrides statePath.")]


def _config(config: Path | None, spec: Path | None, state: Path | None) -> DeployConfig:
    try:
        settings = load_config(config)
    except ClientError as exc:
        _fail(str(exc), 2)
    settings.spec_path = spec or settings.spec_path
    settings.state_path = state or settings.state_path
    return settings


def _fail(message: str, code: int) -> NoReturn:
    typer.secho(f"Error: {message}", fg="red", err=True)
    raise typer.Exit(code)


def deploy(
    config: ConfigOption = None,
    no_confirm: Annotated[
        bool, typer.Option("--no-confirm", help="Deploy without asking (for CI).")
    ] = False,
    spec: SpecOption = None,
    state: StateOption = None,
) -> None:
    """Deploy project.yaml to the server: show the changes, confirm, provision."""
    settings = _config(config, spec, state)
    try:
        document = files.read_spec(settings.spec_path)
        old_state = files.read_state(settings.state_path)
    except InvalidInput as exc:
        _fail(exc.message, 2)
    payload = merge_spec_and_state(document, old_state)
    try:
        with ApiClient(settings) as api:
            typer.echo(f"Comparing {settings.spec_path} with {api.endpoint} ...")
            diff = ProjectDiff.model_validate(api.preview(payload))
            typer.echo(render(diff))
            if not diff.has_changes:
                return
            if not no_confirm and not typer.confirm("Deploy these changes?", default=False):
                typer.echo("Nothing deployed.")
                return
            new_state = api.provision(payload)
    except ClientError as exc:
        _fail(str(exc), 1)
    settings.state_path.write_text(files.state_text(new_state), encoding="utf-8")
    typer.echo(
        f'Deployed project "{new_state["name"]}" ({new_state["id"]}); '
        f"state written to {settings.state_path}."
    )


def pull(
    project_id: Annotated[str, typer.Argument(help="The project's id (see its settings page).")],
    config: ConfigOption = None,
    spec: SpecOption = None,
    state: StateOption = None,
) -> None:
    """Write a project's spec, state and job bodies (one .js file per job)."""
    settings = _config(config, spec, state)
    try:
        with ApiClient(settings) as api:
            new_state = api.state(project_id)
        old_state = files.read_state(settings.state_path)
    except ClientError as exc:
        _fail(str(exc), 1)
    except InvalidInput as exc:
        _fail(exc.message, 2)
    if old_state and old_state.get("id") == new_state.get("id"):
        new_state = rekey(new_state, old_state)  # keep the keys already in use locally
    directory = settings.spec_path.parent
    directory.mkdir(parents=True, exist_ok=True)
    written = files.write(directory, new_state, settings.spec_path.name)
    settings.state_path.parent.mkdir(parents=True, exist_ok=True)
    settings.state_path.write_text(files.state_text(new_state), encoding="utf-8")
    typer.echo(
        f'Pulled project "{new_state["name"]}": {settings.spec_path}, {settings.state_path} '
        f"and {len(written) - 1} job file(s)."
    )


sync_app = typer.Typer(help="Git sync of a project linked to a repository.", no_args_is_help=True)


@sync_app.command("pull")
def sync_pull(
    project_id: Annotated[str, typer.Argument(help="The linked project's id.")],
    config: ConfigOption = None,
) -> None:
    """Pull the project's git branch into the platform and provision it (as you).

    Refused, changing nothing, when the branch has diverged from what the server last pushed.
    """
    try:
        with ApiClient(load_config(config)) as api:
            result = api.sync(project_id)
    except ClientError as exc:
        _fail(str(exc), 1)
    commit = str(result.get("commit", ""))[:7]
    if result.get("up_to_date"):
        typer.echo(f"Already up to date with commit {commit}.")
        return
    changed = result.get("changed") or {}
    summary = "; ".join(f"{kind} {', '.join(names)}" for kind, names in changed.items() if names)
    typer.echo(f"Provisioned commit {commit}: {summary or 'no workflow changes'}.")
