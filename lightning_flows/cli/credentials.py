"""`lightning-flows credentials ...`: encryption key checks and rotation."""

from __future__ import annotations

import typer

app = typer.Typer(help="Encrypted secrets: key checks and rotation.", no_args_is_help=True)


@app.command("reencrypt")
def reencrypt() -> None:
    """Rewrite every encrypted value under the primary key (LIGHTNING_ENCRYPTION_KEY).

    Rotate keys by setting the new key as LIGHTNING_ENCRYPTION_KEY and the old one in
    LIGHTNING_ENCRYPTION_OLD_KEYS, running this, then removing the old key.
    """
    from lightning_flows.core import keys
    from lightning_flows.core.crypto import get_cipher
    from lightning_flows.core.db import get_engine
    from lightning_flows.core.errors import ConfigurationError

    try:
        counts = keys.reencrypt(get_engine(), get_cipher())
    except ConfigurationError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(1) from exc
    total = sum(counts.values())
    for where, count in counts.items():
        if count:
            typer.echo(f"{where}: {count} re-encrypted")
    typer.echo(f"Done: {total} value(s) re-encrypted under key {get_cipher().primary_id}.")


@app.command("check-key")
def check_key() -> None:
    """Exit 1 if stored secrets were written with a key that is not configured."""
    from lightning_flows.core import keys
    from lightning_flows.core.crypto import get_cipher
    from lightning_flows.core.db import get_engine
    from lightning_flows.core.errors import ConfigurationError

    try:
        keys.check_keys(get_engine(), get_cipher())
    except ConfigurationError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"Every stored secret can be decrypted (primary key {get_cipher().primary_id}).")
