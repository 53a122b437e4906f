"""Browser sessions: a random cookie value whose SHA-256 is stored in `user_sessions`.

A session created by a password (or SSO) login of a user with MFA starts
unverified; it only counts as signed in once the TOTP or backup code step
has marked it `mfa_verified`.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

from sqlmodel import Session, col, delete, select

from lightning_flows.accounts.models import User, UserSession
from lightning_flows.accounts.service import hash_token
from lightning_flows.core.config import get_settings
from lightning_flows.core.timeutil import utcnow

_TOUCH_EVERY = timedelta(minutes=5)


def create_session(
    session: Session, user: User, *, mfa_verified: bool, user_agent: str = ""
) -> str:
    """Start a session for `user`; returns the cookie value (never stored)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        UserSession(
            user_id=user.id,
            token_hash=hash_token(token),
            mfa_verified=mfa_verified or not user.mfa_enabled,
            user_agent=user_agent[:512],
            expires_at=now + timedelta(hours=get_settings().session_ttl_hours),
            last_seen_at=now,
        )
    )
    session.commit()
    return token


def find_session(session: Session, token: str | None) -> tuple[UserSession, User] | None:
    """The live session for a cookie value and its (enabled) user, else None."""
    if not token:
        return None
    row = session.exec(
        select(UserSession, User)
        .join(User, User.id == UserSession.user_id)  # type: ignore[arg-type]
        .where(UserSession.token_hash == hash_token(token))
    ).first()
    if row is None:
        return None
    user_session, user = row
    now = utcnow()
    if user_session.expires_at <= now or user.disabled:
        return None
    if user_session.last_seen_at is None or now - user_session.last_seen_at > _TOUCH_EVERY:
        user_session.last_seen_at = now
        session.add(user_session)
        session.commit()
    return user_session, user


def mark_mfa_verified(session: Session, user_session: UserSession) -> None:
    user_session.mfa_verified = True
    session.add(user_session)
    session.commit()


def end_session(session: Session, token: str | None) -> None:
    """Log out: forget this session (unknown or empty tokens are ignored)."""
    if token:
        session.exec(delete(UserSession).where(col(UserSession.token_hash) == hash_token(token)))  # type: ignore[call-overload]
        session.commit()


def end_all_sessions(session: Session, user_id: uuid.UUID) -> None:
    """Sign the user out everywhere (password change or reset, disable); caller commits."""
    session.exec(delete(UserSession).where(col(UserSession.user_id) == user_id))  # type: ignore[call-overload]
    now = utcnow()
    session.exec(delete(UserSession).where(col(UserSession.expires_at) < now))  # type: ignore[call-overload]
