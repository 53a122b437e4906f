"""`users create` works without a terminal: the password from stdin or the environment."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from sqlmodel import Session
from typer.testing import CliRunner

from lightning_flows.accounts import service
from lightning_flows.accounts.passwords import verify_password
from lightning_flows.cli.main import app

runner = CliRunner()
PASSWORD = "a long enough passphrase"
CLI = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "lightning-flows"


def _can_sign_in(session: Session, email: str) -> bool:
    session.expire_all()
    return verify_password(service.get_user_by_email(session, email).hashed_password, PASSWORD)


def test_password_from_stdin(session: Session) -> None:
    args = ["users", "create", "--email", "in@example.org", "--password-stdin"]
    result = runner.invoke(app, args, input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert _can_sign_in(session, "in@example.org")


def test_password_from_the_environment(session: Session) -> None:
    result = runner.invoke(
        app,
        ["users", "create", "--email", "env@example.org"],
        env={"LIGHTNING_USER_PASSWORD": PASSWORD},
    )
    assert result.exit_code == 0, result.output
    assert _can_sign_in(session, "env@example.org")


def test_without_a_terminal_or_a_password_it_says_how() -> None:
    """As a script runs it: no terminal on stdin, no password given."""
    env = {k: v for k, v in os.environ.items() if k != "LIGHTNING_USER_PASSWORD"}
    done = subprocess.run(
        [str(CLI), "users", "create", "--email", "x@example.org"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "--password-stdin" in done.stderr and "LIGHTNING_USER_PASSWORD" in done.stderr
