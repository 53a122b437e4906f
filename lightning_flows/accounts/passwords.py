"""Password hashing with argon2id, and the password rules."""

import contextlib

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from lightning_flows.core.errors import InvalidInput

_hasher = PasswordHasher()
# Verified against when the email is unknown, so timing does not reveal accounts.
_DUMMY_HASH = _hasher.hash("not-a-real-password-0123456789")

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(hashed: str | None, password: str) -> bool:
    """Whether `password` matches; False for users without a password (SSO-only)."""
    if not hashed:
        return False
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def burn_time(password: str) -> None:
    """Spend the time of one verification (unknown email), so timing leaks nothing."""
    with contextlib.suppress(VerificationError, InvalidHashError):
        _hasher.verify(_DUMMY_HASH, password)


def check_new_password(password: str, field: str = "password") -> None:
    """Raise InvalidInput with an actionable message if `password` is too weak."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"{field}: use at least {MIN_PASSWORD_LENGTH} characters "
            "(a few unrelated words make a strong, memorable password).",
            details=[{"loc": [field], "msg": f"at least {MIN_PASSWORD_LENGTH} characters"}],
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(f"{field}: at most {MAX_PASSWORD_LENGTH} characters.")
