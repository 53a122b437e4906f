"""Users and personal access tokens: the accounts context's public surface."""

from __future__ import annotations

import hashlib
import secrets
import uuid

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from lightning_flows.accounts.models import ApiToken, User
from lightning_flows.accounts.passwords import hash_password
from lightning_flows.accounts.schemas import UserCreate
from lightning_flows.core.errors import Conflict, NotFound, Unauthenticated
from lightning_flows.core.timeutil import utcnow

TOKEN_PREFIX = "lfp_"  # noqa: S105  # nosec B105


def create_user(session: Session, data: UserCreate) -> User:
    """Register a user with an argon2-hashed password."""
    user = User(
        email=data.email.lower(),
        first_name=data.first_name,
        last_name=data.last_name,
        hashed_password=hash_password(data.password),
        is_superuser=data.is_superuser,
    )
    session.add(user)
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(f"A user with email {user.email} already exists.") from exc
    return user


def get_user_by_email(session: Session, email: str) -> User:
    user = session.exec(select(User).where(User.email == email.lower())).first()
    if user is None:
        raise NotFound(f"No user with email {email}.")
    return user


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(session: Session, user: User, name: str = "") -> tuple[ApiToken, str]:
    """Create a personal access token; the plaintext is returned once and never stored."""
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, token_hash=hash_token(plaintext))
    session.add(token)
    session.commit()
    return token, plaintext


def authenticate_token(session: Session, plaintext: str) -> User:
    """The active user owning this token, recording its use; else Unauthenticated."""
    row = session.exec(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)  # type: ignore[arg-type]
        .where(ApiToken.token_hash == hash_token(plaintext))
    ).first()
    if row is None:
        raise Unauthenticated("Invalid access token.")
    token, user = row
    if token.revoked_at is not None or user.disabled:
        raise Unauthenticated("This access token has been revoked or its user disabled.")
    token.last_used_at = utcnow()
    session.add(token)
    session.commit()
    return user


def revoke_api_token(session: Session, user: User, token_id: uuid.UUID) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound("No such access token.")
    token.revoked_at = token.revoked_at or utcnow()
    session.add(token)
    session.commit()
    return token
