"""Signing in with a password (with lockout), registering, changing and resetting passwords.

After `login_max_failures` wrong passwords or MFA codes in a row an account is
locked for `login_lockout_minutes`; every failure is audited on the user.
"""

from __future__ import annotations

import logging
import math
import secrets
from datetime import timedelta

from sqlmodel import Session, col, delete, select

from lightning_flows.accounts import instance, sessions
from lightning_flows.accounts.models import User, UserToken
from lightning_flows.accounts.passwords import (
    burn_time,
    check_new_password,
    hash_password,
    verify_password,
)
from lightning_flows.accounts.schemas import UserCreate
from lightning_flows.accounts.service import create_user, find_user_by_email, hash_token
from lightning_flows.audit import service as audit
from lightning_flows.core.config import get_settings
from lightning_flows.core.errors import DomainError, Forbidden, InvalidInput, Unauthenticated
from lightning_flows.core.mail import ensure_mail_configured, send_mail
from lightning_flows.core.timeutil import utcnow

log = logging.getLogger(__name__)

RESET_CONTEXT = "reset_password"
BAD_CREDENTIALS = "Wrong email or password."


class LockedOut(DomainError):
    """Too many failed sign-ins: the account is locked for a while."""

    status_code = 429


def ensure_not_locked(user: User) -> None:
    if user.locked_until is not None and user.locked_until > utcnow():
        minutes = math.ceil((user.locked_until - utcnow()).total_seconds() / 60)
        raise LockedOut(
            f"Too many failed sign-in attempts: try again in {minutes} minute(s), "
            "or reset your password."
        )


def record_failure(session: Session, user: User, reason: str) -> None:
    """Count a failed password or MFA code; lock the account at the limit. Commits."""
    settings = get_settings()
    user.failed_login_attempts += 1
    details = {"reason": reason, "attempt": user.failed_login_attempts}
    if user.failed_login_attempts >= settings.login_max_failures:
        user.locked_until = utcnow() + timedelta(minutes=settings.login_lockout_minutes)
        user.failed_login_attempts = 0
        details["locked_until"] = user.locked_until.isoformat()
    session.add(user)
    audit.record(session, "login_failed", "user", user.id, None, details=details)
    session.commit()


def record_success(session: Session, user: User) -> None:
    if user.failed_login_attempts or user.locked_until:
        user.failed_login_attempts, user.locked_until = 0, None
        session.add(user)
        session.commit()


def authenticate_password(session: Session, email: str, password: str) -> User:
    """The user whose email and password these are, or Unauthenticated/LockedOut/Forbidden."""
    user = find_user_by_email(session, email)
    if user is None:
        burn_time(password)
        log.info("sign-in failed for an unknown email")
        raise Unauthenticated(BAD_CREDENTIALS)
    ensure_not_locked(user)
    if not verify_password(user.hashed_password, password):
        record_failure(session, user, "wrong_password")
        ensure_not_locked(user)
        raise Unauthenticated(BAD_CREDENTIALS)
    if user.disabled:
        audit.record(session, "login_failed", "user", user.id, None, details={"reason": "disabled"})
        session.commit()
        raise Forbidden("This account is disabled; contact an administrator.")
    if not user.mfa_enabled:
        record_success(session, user)
    return user


def register(session: Session, data: UserCreate) -> User:
    """Self-registration (never as superuser), when a superuser has not turned it off."""
    if not instance.registration_allowed(session):
        raise Forbidden("Registration is disabled on this server; ask an administrator.")
    return create_user(session, data.model_copy(update={"is_superuser": False}))


def change_password(session: Session, user: User, current: str, new: str) -> None:
    """Change a password knowing the current one; signs the user out everywhere."""
    if user.hashed_password and not verify_password(user.hashed_password, current):
        raise InvalidInput(
            "current_password: that is not your current password.",
            details=[{"loc": ["current_password"], "msg": "does not match"}],
        )
    _set_password(session, user, new, "password_changed")


def _set_password(session: Session, user: User, new: str, event: str) -> None:
    check_new_password(new, "new_password")
    user.hashed_password = hash_password(new)
    user.failed_login_attempts, user.locked_until = 0, None
    session.add(user)
    sessions.end_all_sessions(session, user.id)
    audit.record(session, event, "user", user.id, user.id)
    session.commit()


def request_password_reset(session: Session, email: str) -> None:
    """Email a single-use reset link if the account exists (the caller never learns which)."""
    settings = get_settings()
    ensure_mail_configured()
    user = find_user_by_email(session, email)
    if user is None or user.disabled:
        return
    token = secrets.token_urlsafe(32)
    session.add(
        UserToken(
            user_id=user.id,
            context=RESET_CONTEXT,
            token_hash=hash_token(token),
            expires_at=utcnow() + timedelta(minutes=settings.password_reset_ttl_minutes),
        )
    )
    audit.record(session, "password_reset_requested", "user", user.id, None)
    session.commit()
    link = f"{settings.public_url}/password/reset/{token}"
    send_mail(
        user.email,
        "Reset your Lightning Flows password",
        f"Someone asked to reset the password of {user.email} on {settings.public_url}.\n\n"
        f"To choose a new password, open this link within "
        f"{settings.password_reset_ttl_minutes:g} minutes:\n\n{link}\n\n"
        "If it was not you, ignore this email: your password stays as it is.\n",
    )


def find_reset_token(session: Session, token: str) -> UserToken:
    """The live reset token for this link, or InvalidInput saying how to get a new one."""
    user_token = session.exec(
        select(UserToken).where(UserToken.token_hash == hash_token(token))
    ).first()
    if (
        user_token is None
        or user_token.context != RESET_CONTEXT
        or user_token.used_at is not None
        or user_token.expires_at <= utcnow()
    ):
        raise InvalidInput(
            "This password reset link is invalid, used or expired; ask for a new one."
        )
    return user_token


def reset_password(session: Session, token: str, new_password: str) -> User:
    """Set a new password from an emailed link (single use); signs out everywhere."""
    user_token = find_reset_token(session, token)
    check_new_password(new_password, "new_password")
    user = session.get(User, user_token.user_id)
    if user is None or user.disabled:
        raise InvalidInput("This password reset link is no longer valid.")
    session.exec(  # type: ignore[call-overload]
        delete(UserToken).where(
            col(UserToken.user_id) == user.id, col(UserToken.context) == RESET_CONTEXT
        )
    )
    _set_password(session, user, new_password, "password_reset")
    return user
