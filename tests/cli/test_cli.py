"""The console script: migrations, users and tokens from the command line."""

from __future__ import annotations

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from lightning_flows.cli.main import app

runner = CliRunner()


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("up", "db", "users", "tokens"):
        assert command in result.output


def test_db_upgrade_is_idempotent() -> None:
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output


def test_user_then_token_authenticates_the_api(client: TestClient) -> None:
    created = runner.invoke(
        app, ["users", "create", "--email", "Ada@Example.org", "--password", "a long passphrase"]
    )
    assert created.exit_code == 0, created.output
    assert "ada@example.org" in created.output
    token = runner.invoke(app, ["tokens", "create", "--email", "ada@example.org"])
    assert token.exit_code == 0, token.output
    plaintext = token.output.strip()
    assert plaintext.startswith("lfp_")
    response = client.get("/api/projects", headers={"Authorization": f"Bearer {plaintext}"})
    assert response.status_code == 200


def test_bad_input_gets_a_clear_message() -> None:
    short = runner.invoke(
        app, ["users", "create", "--email", "a@example.org", "--password", "short"]
    )
    assert short.exit_code != 0 and "at least 12 characters" in short.output
    unknown = runner.invoke(app, ["tokens", "create", "--email", "ghost@example.org"])
    assert unknown.exit_code == 1 and "No user with email" in unknown.output
