"""AES-256-GCM encryption of secret columns, with a random nonce per value.

Ciphertext format (text, safe in any column): ``v1:<key id>:<base64(nonce || ciphertext)>``.
The key id (first 8 hex digits of the key's SHA-256) tells which configured key
decrypts a value, so keys can be rotated: new writes use the primary key and
older keys stay readable until everything is re-encrypted.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import threading
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.engine import Dialect
from sqlalchemy.types import Text, TypeDecorator

from lightning_flows.core.config import Settings, get_settings
from lightning_flows.core.errors import ConfigurationError

_PREFIX = "v1"
_NONCE_BYTES = 12
DEV_KEY_FILE = "dev-encryption.key"


class DecryptionError(Exception):
    """A value could not be decrypted with any configured key."""


def generate_key() -> str:
    """A new random key, base64-encoded, for `LIGHTNING_ENCRYPTION_KEY`."""
    return base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()


def _decode_key(encoded: str, name: str) -> bytes:
    try:
        key = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConfigurationError(f"{name} is not valid base64: {exc}") from exc
    if len(key) != 32:
        raise ConfigurationError(f"{name} must decode to 32 bytes (got {len(key)}).")
    return key


def _key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


class Cipher:
    """Encrypts with the primary key; decrypts with any configured key."""

    def __init__(self, primary: bytes, others: list[bytes] | None = None) -> None:
        self.primary_id = _key_id(primary)
        self.key_ids = frozenset(_key_id(k) for k in [primary, *(others or [])])
        self._keys = {_key_id(k): AESGCM(k) for k in [primary, *(others or [])]}
        self._primary = primary

    def derive_key(self, purpose: str) -> bytes:
        """A 32-byte key for `purpose` (CSRF, signed state), derived from the primary key."""
        return hmac.new(self._primary, b"lightning-flows:" + purpose.encode(), "sha256").digest()

    def encrypt(self, plaintext: bytes) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._keys[self.primary_id].encrypt(nonce, plaintext, None)
        return f"{_PREFIX}:{self.primary_id}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str) -> bytes:
        try:
            prefix, key_id, payload = token.split(":", 2)
            raw = base64.b64decode(payload)
        except (ValueError, binascii.Error) as exc:
            raise DecryptionError("Malformed encrypted value.") from exc
        aes = self._keys.get(key_id)
        if prefix != _PREFIX or aes is None:
            raise DecryptionError(f"No configured encryption key matches key id {key_id!r}.")
        try:
            return aes.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], None)
        except InvalidTag as exc:
            raise DecryptionError("Encrypted value failed authentication.") from exc

    def is_primary(self, token: str) -> bool:
        """Whether a stored value is already encrypted under the primary key."""
        return token.split(":", 2)[1:2] == [self.primary_id]

    def encrypt_json(self, value: Any) -> str:
        return self.encrypt(json.dumps(value, separators=(",", ":")).encode())

    def decrypt_json(self, token: str) -> Any:
        return json.loads(self.decrypt(token))


def cipher_from_settings(settings: Settings) -> Cipher:
    """Build the cipher; in development a key is generated once under the data dir."""
    others = [
        _decode_key(k, "LIGHTNING_ENCRYPTION_OLD_KEYS")
        for k in settings.encryption_old_keys.split(",")
        if k.strip()
    ]
    if settings.encryption_key:
        return Cipher(_decode_key(settings.encryption_key, "LIGHTNING_ENCRYPTION_KEY"), others)
    if settings.env == "production":
        raise ConfigurationError(
            "LIGHTNING_ENCRYPTION_KEY is required in production: "
            "generate one with `openssl rand -base64 32` and keep it safe."
        )
    return Cipher(_decode_key(_dev_key(settings.data_dir.resolve()), "dev key"), others)


def _dev_key(data_dir: Path) -> str:
    path = data_dir / DEV_KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(generate_key())
    return path.read_text()


_lock = threading.Lock()
_cipher: Cipher | None = None


def get_cipher() -> Cipher:
    """The process-wide cipher for the current settings."""
    global _cipher
    with _lock:
        if _cipher is None:
            _cipher = cipher_from_settings(get_settings())
        return _cipher


def reset_cipher() -> None:
    global _cipher
    with _lock:
        _cipher = None


class EncryptedJSON(TypeDecorator[Any]):
    """A column holding any JSON value, encrypted at rest."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else get_cipher().encrypt_json(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else get_cipher().decrypt_json(value)


class EncryptedString(TypeDecorator[str]):
    """A text column encrypted at rest."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else get_cipher().encrypt(value.encode())

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else get_cipher().decrypt(value).decode()
