"""Multi-factor authentication: TOTP (pyotp) plus single-use backup codes.

Enrolment stores a new secret (encrypted) while MFA stays off, and turns MFA
on once the user proves their app has it by entering a code; that step
returns ten backup codes, shown once and stored as SHA-256 hashes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Any

import pyotp
from sqlmodel import Session

from lightning_flows.accounts import auth
from lightning_flows.accounts.models import User
from lightning_flows.accounts.passwords import verify_password
from lightning_flows.audit import service as audit
from lightning_flows.core.errors import Conflict, InvalidInput
from lightning_flows.core.timeutil import utcnow

ISSUER = "Lightning Flows"
BACKUP_CODE_COUNT = 10
_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no look-alikes (0/o, 1/l/i)


def _hash_code(code: str) -> str:
    normalized = "".join(code.lower().split()).replace("-", "")
    return hashlib.sha256(normalized.encode()).hexdigest()


def _new_backup_codes() -> tuple[list[str], list[dict[str, Any]]]:
    codes = []
    for _ in range(BACKUP_CODE_COUNT):
        raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes, [{"hash": _hash_code(c), "used_at": None} for c in codes]


def start_enrolment(session: Session, user: User) -> str:
    """A fresh TOTP secret for the user to scan; MFA is not on until confirmed."""
    if user.mfa_enabled:
        raise Conflict("MFA is already enabled; disable it first to enrol a new device.")
    user.mfa_secret = pyotp.random_base32()
    session.add(user)
    session.commit()
    return user.mfa_secret


def provisioning_uri(user: User) -> str:
    """The otpauth:// URI authenticator apps read from the QR code."""
    if not user.mfa_secret:
        raise Conflict("Start MFA enrolment first.")
    return pyotp.TOTP(user.mfa_secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def confirm_enrolment(session: Session, user: User, code: str) -> list[str]:
    """Turn MFA on if `code` is valid for the pending secret; returns the backup codes."""
    if user.mfa_enabled:
        raise Conflict("MFA is already enabled.")
    if not user.mfa_secret or not _accept_totp(user, code):
        raise InvalidInput(
            "code: that code does not match; check your device's clock and enter the "
            "6 digits currently shown by your authenticator app.",
            details=[{"loc": ["code"], "msg": "invalid code"}],
        )
    plain, stored = _new_backup_codes()
    user.mfa_enabled = True
    user.mfa_backup_codes = stored
    session.add(user)
    audit.record(session, "mfa_enabled", "user", user.id, user.id)
    session.commit()
    return plain


def regenerate_backup_codes(session: Session, user: User) -> list[str]:
    if not user.mfa_enabled:
        raise Conflict("Enable MFA first.")
    plain, stored = _new_backup_codes()
    user.mfa_backup_codes = stored
    session.add(user)
    audit.record(session, "mfa_backup_codes_regenerated", "user", user.id, user.id)
    session.commit()
    return plain


def disable(session: Session, user: User, password: str, actor: User | None = None) -> None:
    """Turn MFA off (the user confirms with their password; superusers need not)."""
    confirm = actor is None or actor.id == user.id
    if confirm and user.hashed_password and not verify_password(user.hashed_password, password):
        raise InvalidInput(
            "password: that is not your password.",
            details=[{"loc": ["password"], "msg": "does not match"}],
        )
    user.mfa_enabled, user.mfa_secret, user.mfa_backup_codes = False, None, []
    user.mfa_last_step = None
    session.add(user)
    audit.record(session, "mfa_disabled", "user", user.id, (actor or user).id)
    session.commit()


def verify(session: Session, user: User, code: str) -> bool:
    """Check a sign-in code: TOTP (each step once) or an unused backup code (then spent).

    A wrong code counts as a failed sign-in towards the lockout. Commits.
    """
    auth.ensure_not_locked(user)
    cleaned = "".join(code.split())
    if cleaned.isdigit() and len(cleaned) == 6 and user.mfa_secret:
        ok = _accept_totp(user, cleaned)
        method = "totp"
    else:
        ok = _spend_backup_code(user, cleaned)
        method = "backup_code"
    if not ok:
        auth.record_failure(session, user, f"wrong_{method}")
        return False
    session.add(user)
    if method == "backup_code":
        audit.record(session, "mfa_backup_code_used", "user", user.id, user.id)
    session.commit()
    auth.record_success(session, user)
    return True


def _accept_totp(user: User, code: str) -> bool:
    """Valid in the current window (+-30 s) and newer than the last accepted step."""
    if not user.mfa_secret:
        return False
    totp = pyotp.TOTP(user.mfa_secret)
    now = int(time.time())
    for offset in (0, -30, 30):
        step = (now + offset) // totp.interval
        if hmac.compare_digest(totp.at(now + offset), code.strip()):
            if user.mfa_last_step is not None and step <= user.mfa_last_step:
                return False  # replayed code
            user.mfa_last_step = step
            return True
    return False


def _spend_backup_code(user: User, code: str) -> bool:
    wanted = _hash_code(code)
    codes = [dict(c) for c in user.mfa_backup_codes]
    for entry in codes:
        if entry.get("used_at") is None and hmac.compare_digest(entry["hash"], wanted):
            entry["used_at"] = utcnow().isoformat()
            user.mfa_backup_codes = codes  # reassign: JSON columns track assignment only
            return True
    return False


def remaining_backup_codes(user: User) -> int:
    return sum(1 for c in user.mfa_backup_codes if c.get("used_at") is None)
