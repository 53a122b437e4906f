"""Secrets at rest: AES-GCM round trip, no plaintext in the database file or dump,
key rotation with `credentials reencrypt`, and refusing a wrong key."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import Session
from typer.testing import CliRunner

from lightning_flows.accounts.models import AuthProvider
from lightning_flows.cli.main import app as cli
from lightning_flows.core import crypto, keys
from lightning_flows.core.config import reset_settings
from lightning_flows.core.db import get_engine
from lightning_flows.core.errors import ConfigurationError
from lightning_flows.credentials import usage
from lightning_flows.credentials.models import Credential
from tests import factories

SECRET = "Zebra-Plaintext-Canary-4711"
OLD_KEY = os.environ["LIGHTNING_ENCRYPTION_KEY"]


@pytest.fixture
def new_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Rotate: a new primary key with the current one kept as an old key."""
    key = crypto.generate_key()
    monkeypatch.setenv("LIGHTNING_ENCRYPTION_KEY", key)
    monkeypatch.setenv("LIGHTNING_ENCRYPTION_OLD_KEYS", OLD_KEY)
    reset_settings()
    yield key
    monkeypatch.undo()
    reset_settings()


def _raw(session: Session, column: str, table: str = "credentials") -> list[str]:
    return [r[0] for r in session.execute(text(f"SELECT {column} FROM {table}"))]  # noqa: S608


def test_round_trip_through_the_service(session: Session, project, user) -> None:
    credential = factories.make_owned_credential(
        session, user, {"username": "u", "password": SECRET}, projects=(project,)
    )
    [raw] = _raw(session, "body")
    assert SECRET not in raw and raw.startswith("v1:")
    link = session.exec(factories.select_links(credential.id)).one()
    assert usage.configuration_for(session, link.id) == {"username": "u", "password": SECRET}


def test_no_plaintext_in_the_database_file_or_dump(session: Session, project, user) -> None:
    factories.make_owned_credential(session, user, {"password": SECRET}, projects=(project,))
    session.add(
        AuthProvider(name="idp", discovery_url="https://x", client_id="c", client_secret=SECRET)
    )
    session.commit()
    url = make_url(str(get_engine().url))
    if url.get_backend_name() == "sqlite":
        get_engine().dispose()  # checkpoint: the WAL is folded into the file
        files = [Path(url.database or "")]
        files += [Path(f"{url.database}{suffix}") for suffix in ("-wal", "-journal")]
        dumped = b"".join(f.read_bytes() for f in files if f.exists())
    else:
        pg_dump = shutil.which("pg_dump")
        if pg_dump is None:
            pytest.skip("pg_dump is not installed")
        dumped = subprocess.run(
            [
                pg_dump,
                "--data-only",
                url.render_as_string(hide_password=False).replace(
                    "postgresql+psycopg", "postgresql"
                ),
            ],
            capture_output=True,
            check=True,
            timeout=120,
        ).stdout
    assert len(dumped) > 1000
    assert SECRET.encode() not in dumped


def test_rotation_then_reencrypt_rewrites_every_column(
    session: Session, project, user, new_key: str
) -> None:
    with pytest.MonkeyPatch.context() as mp:  # written under the old key
        mp.setenv("LIGHTNING_ENCRYPTION_KEY", OLD_KEY)
        mp.delenv("LIGHTNING_ENCRYPTION_OLD_KEYS")
        reset_settings()
        factories.make_owned_credential(session, user, {"password": SECRET}, projects=(project,))
        session.add(
            AuthProvider(name="i", discovery_url="https://x", client_id="c", client_secret=SECRET)
        )
        session.commit()
        old_id = crypto.get_cipher().primary_id
    reset_settings()  # back to the new primary key, old key still accepted
    cipher = crypto.get_cipher()
    assert cipher.primary_id != old_id
    assert {r.split(":")[1] for r in _raw(session, "body")} == {old_id}
    keys.check_keys(get_engine(), cipher)  # readable: the old key is configured

    result = CliRunner().invoke(cli, ["credentials", "reencrypt"])
    assert result.exit_code == 0, result.output
    assert "credentials.body: 1 re-encrypted" in result.output
    assert "auth_providers.client_secret: 1 re-encrypted" in result.output
    for raw in [*_raw(session, "body"), *_raw(session, "client_secret", "auth_providers")]:
        assert raw.split(":")[1] == cipher.primary_id
    again = CliRunner().invoke(cli, ["credentials", "reencrypt"])
    assert "Done: 0 value(s)" in again.output

    os.environ.pop("LIGHTNING_ENCRYPTION_OLD_KEYS")  # the old key can now go
    reset_settings()
    keys.check_keys(get_engine(), crypto.get_cipher())
    session.expire_all()
    assert session.exec(factories.select(Credential)).one().body == {"password": SECRET}


def test_a_wrong_key_is_refused_with_a_clear_message(
    session: Session, project, user, monkeypatch: pytest.MonkeyPatch
) -> None:
    factories.make_owned_credential(session, user, {"password": SECRET}, projects=(project,))
    monkeypatch.setenv("LIGHTNING_ENCRYPTION_KEY", crypto.generate_key())
    reset_settings()
    try:
        with pytest.raises(
            ConfigurationError, match=r"cannot decrypt stored secrets in credentials\.body"
        ):
            keys.check_keys(get_engine(), crypto.get_cipher())
        result = CliRunner().invoke(cli, ["credentials", "check-key"])
        assert result.exit_code == 1 and "LIGHTNING_ENCRYPTION_OLD_KEYS" in result.output
        reencrypt = CliRunner().invoke(cli, ["credentials", "reencrypt"])
        assert reencrypt.exit_code == 1 and "cannot be decrypted" in reencrypt.output
    finally:
        monkeypatch.undo()
        reset_settings()
    assert CliRunner().invoke(cli, ["credentials", "check-key"]).exit_code == 0


def test_production_refuses_to_start_without_a_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import typer

    from lightning_flows.cli.up import _refuse_wrong_encryption_key

    monkeypatch.setenv("LIGHTNING_ENV", "production")
    monkeypatch.delenv("LIGHTNING_ENCRYPTION_KEY")
    reset_settings()
    try:
        with pytest.raises(typer.Exit) as exit_info:
            _refuse_wrong_encryption_key()
        assert exit_info.value.exit_code == 2
        assert "LIGHTNING_ENCRYPTION_KEY is required in production" in capsys.readouterr().err
    finally:
        monkeypatch.undo()
        reset_settings()
