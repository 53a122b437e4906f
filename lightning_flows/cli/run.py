"""`lightning-flows run`: execute a job or workflow file locally, like OpenFn's CLI.

No server, database or Prefect: the steps run in a private Node process.
Exit codes: 0 success, 1 the run failed/crashed/was killed, 2 it could not
start (bad file, plan, state or adaptor), 130 interrupted.
"""

from __future__ import annotations

import json
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from adaptor_tasks import LogEntry
from lightning_flows.engine import local

_RANKS = {"debug": 0, "info": 1, "warn": 2, "warning": 2, "error": 3}
_ENDINGS = {
    "failed": "Run failed",
    "crashed": "Run crashed",
    "killed": "Run killed",
    "exception": "Run ended with an exception",
    "cancelled": "Run cancelled",
}


class LogLevel(StrEnum):
    debug = "debug"
    info = "info"
    warn = "warn"
    error = "error"


class _Logs:
    """Writes `[SOURCE] level message` lines at or above a level to stderr."""

    def __init__(self, level: LogLevel | None) -> None:
        self.threshold = _RANKS[level] if level else len(_RANKS)

    def __call__(self, entry: LogEntry) -> None:
        self.write(entry.source, entry.level, entry.message)

    def write(self, source: str, level: str, message: str) -> None:
        if _RANKS.get(level, 1) >= self.threshold:
            typer.echo(f"[{source}] {level} {message}", err=True)


def run(
    path: Annotated[
        Path,
        typer.Argument(
            help="A job (.js), an OpenFn workflow plan (.json) or project spec (.yaml).",
            metavar="FILE",
        ),
    ],
    adaptor: Annotated[
        str | None,
        typer.Option(
            "--adaptor", "-a", help="The job's adaptor: common, http@7.2.10, @openfn/language-http."
        ),
    ] = None,
    state: Annotated[
        Path | None,
        typer.Option("--state", "-s", help="Input state JSON; credentials in `configuration`."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the final state here, not stdout.")
    ] = None,
    start: Annotated[str | None, typer.Option(help="The workflow step to start from.")] = None,
    workflow: Annotated[
        str | None, typer.Option("--workflow", "-w", help="Which workflow of a project spec.")
    ] = None,
    timeout: Annotated[
        float | None, typer.Option("--timeout", "-t", min=0.001, help="Seconds per step.")
    ] = None,
    log_level: Annotated[
        LogLevel, typer.Option("--log-level", "-l", case_sensitive=False)
    ] = LogLevel.info,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print no logs.")] = False,
) -> None:
    """Run a job or workflow locally and print its final state (without configuration).

    lightning-flows run job.js -a http -s state.json -o out.json

    lightning-flows run workflow.json -s state.json --start transform

    lightning-flows run project.yaml -w my-workflow -s state.json
    """
    logs = _Logs(None if quiet else log_level)
    is_spec = path.suffix.lower() in (".yaml", ".yml")
    is_workflow = is_spec or path.suffix.lower() == ".json"
    started = time.monotonic()
    try:
        if adaptor and is_workflow:
            logs.write("CLI", "warn", "--adaptor is ignored: each workflow step names its adaptor")
        if is_spec:
            from lightning_flows.provisioning.runplan import load_spec_plan

            plan = load_spec_plan(path, workflow=workflow, start=start)
        else:
            plan = local.load_plan(path, adaptor=adaptor or "common", start=start)
        initial = local.read_json_object(state, "state file") if state else {}
        if output is not None and not output.resolve().parent.is_dir():
            raise local.LocalRunError(f"The directory of the output file {output} does not exist.")
        result = local.run_local(plan, initial, on_log=logs, timeout_s=timeout)
    except local.LocalRunError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        typer.echo("Run cancelled: interrupted.", err=True)
        raise typer.Exit(130) from None
    _write_output(result.output, output)
    elapsed = time.monotonic() - started
    logs.write("CLI", "info", f"Finished in {elapsed:.2f}s: {result.walk.state}")
    if result.walk.state != "success":
        typer.echo(_ending(result), err=True)
        raise typer.Exit(1)


def _write_output(value: dict[str, Any] | None, output: Path | None) -> None:
    if value is None:
        return
    text = json.dumps(value, indent=2, ensure_ascii=False)
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")


def _ending(result: local.LocalRun) -> str:
    """`Run failed: TypeError: bad input (step 'transform')`, on one line."""
    walk = result.walk
    message = (walk.error_message or "").strip().splitlines()[:1]
    reason = message[0] if message else "no error message"
    if walk.error_type and not reason.startswith(walk.error_type):
        reason = f"{walk.error_type}: {reason}"
    step = result.failed_step
    where = f" (step '{step}')" if step else ""
    return f"{_ENDINGS.get(walk.state, f'Run {walk.state}')}: {reason}{where}"
