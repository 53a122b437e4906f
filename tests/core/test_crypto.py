"""AES-256-GCM encryption of secret columns, and the key rules."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlmodel import Session

from lightning_flows.core import crypto
from lightning_flows.core.config import Settings
from lightning_flows.core.errors import ConfigurationError
from lightning_flows.credentials.models import Credential


def test_round_trip_with_a_fresh_nonce_each_time() -> None:
    cipher = crypto.Cipher(b"k" * 32)
    a, b = cipher.encrypt(b"secret"), cipher.encrypt(b"secret")
    assert a != b and "secret" not in a
    assert cipher.decrypt(a) == cipher.decrypt(b) == b"secret"


def test_tampering_and_unknown_keys_are_detected() -> None:
    cipher = crypto.Cipher(b"k" * 32)
    token = cipher.encrypt(b"secret")
    prefix, key_id, payload = token.split(":")
    tampered = f"{prefix}:{key_id}:{'A' if payload[0] != 'A' else 'B'}{payload[1:]}"
    with pytest.raises(crypto.DecryptionError):
        cipher.decrypt(tampered)
    with pytest.raises(crypto.DecryptionError, match="No configured encryption key"):
        crypto.Cipher(b"x" * 32).decrypt(token)


def test_old_keys_still_decrypt_and_new_writes_use_the_primary() -> None:
    old, new = b"o" * 32, b"n" * 32
    token = crypto.Cipher(old).encrypt(b"v")
    rotated = crypto.Cipher(new, [old])
    assert rotated.decrypt(token) == b"v"
    assert not rotated.is_primary(token)
    assert rotated.is_primary(rotated.encrypt(b"v"))


def test_production_refuses_to_start_without_a_key(tmp_path) -> None:
    settings = Settings(env="production", data_dir=tmp_path, encryption_key=None)
    with pytest.raises(ConfigurationError, match="LIGHTNING_ENCRYPTION_KEY is required"):
        crypto.cipher_from_settings(settings)
    with pytest.raises(ConfigurationError, match="32 bytes"):
        crypto.cipher_from_settings(Settings(data_dir=tmp_path, encryption_key="c2hvcnQ="))


def test_development_generates_one_key_and_keeps_it(tmp_path) -> None:
    first = crypto.cipher_from_settings(Settings(data_dir=tmp_path, encryption_key=None))
    second = crypto.cipher_from_settings(Settings(data_dir=tmp_path, encryption_key=None))
    assert first.primary_id == second.primary_id
    assert (tmp_path / crypto.DEV_KEY_FILE).stat().st_mode & 0o077 == 0


def test_credential_body_is_not_stored_in_clear(session: Session, user) -> None:
    cred = Credential(name="dhis2", user_id=user.id, body={"password": "hunter2-very-secret"})
    session.add(cred)
    session.commit()
    raw = session.execute(text("SELECT body FROM credentials")).scalar_one()
    assert "hunter2" not in raw and raw.startswith("v1:")
    session.expire_all()
    assert session.get(Credential, cred.id).body == {"password": "hunter2-very-secret"}
