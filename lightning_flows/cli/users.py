"""`lightning-flows users ...` and `tokens ...`: accounts from the command line."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer
from pydantic import ValidationError

from lightning_flows.core.errors import DomainError

users_app = typer.Typer(help="Manage users.", no_args_is_help=True)
tokens_app = typer.Typer(help="Manage personal access tokens.", no_args_is_help=True)


PASSWORD_ENV = "LIGHTNING_USER_PASSWORD"  # noqa: S105  # nosec B105


def _password(given: str | None, from_stdin: bool) -> str:
    """--password, else --password-stdin, else $LIGHTNING_USER_PASSWORD, else a prompt
    (only with a terminal: a script without one is told how to pass it)."""
    if given is not None:
        return given
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    if not sys.stdin.isatty():
        raise typer.BadParameter(
            f"no terminal to ask for it: pass --password-stdin (and the password on standard "
            f"input), set {PASSWORD_ENV}, or give --password.",
            param_hint="password",
        )
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@users_app.command("create")
def create_user(
    email: Annotated[str, typer.Option(help="The user's email (their login).")],
    password: Annotated[
        str | None,
        typer.Option(
            help="At least 12 characters. Without it: --password-stdin, "
            f"${PASSWORD_ENV}, or a prompt on a terminal."
        ),
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    superuser: Annotated[bool, typer.Option(help="Grant every permission.")] = False,
    first_name: Annotated[str, typer.Option()] = "",
    last_name: Annotated[str, typer.Option()] = "",
) -> None:
    """Create a user who can sign in with EMAIL and a password."""
    from lightning_flows.accounts import service
    from lightning_flows.accounts.schemas import UserCreate
    from lightning_flows.core.db import session_scope

    password = _password(password, password_stdin)

    try:
        data = UserCreate(
            email=email,
            password=password,
            is_superuser=superuser,
            first_name=first_name,
            last_name=last_name,
        )
    except ValidationError as exc:
        messages = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
        raise typer.BadParameter(messages) from exc
    with session_scope() as session:
        try:
            user = service.create_user(session, data)
        except DomainError as exc:
            typer.secho(exc.message, fg="red", err=True)
            raise typer.Exit(1) from exc
    typer.echo(f"Created user {user.email} ({user.id}){' as superuser' if superuser else ''}.")


@tokens_app.command("create")
def create_token(
    email: Annotated[str, typer.Option(help="Whose token it is.")],
    name: Annotated[str, typer.Option(help="A label to recognise it by.")] = "cli",
) -> None:
    """Create a personal access token and print it once (it is not stored in clear)."""
    from lightning_flows.accounts import service
    from lightning_flows.core.db import session_scope

    with session_scope() as session:
        try:
            user = service.get_user_by_email(session, email)
            _token, plaintext = service.create_api_token(session, user, name)
        except DomainError as exc:
            typer.secho(exc.message, fg="red", err=True)
            raise typer.Exit(1) from exc
    typer.echo(plaintext)
