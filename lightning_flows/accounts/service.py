"""Users and personal access tokens: the accounts context's public surface."""

from __future__ import annotations

import hashlib
import secrets
import uuid

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from lightning_flows.accounts.models import ApiToken, User
from lightning_flows.accounts.passwords import check_new_password, hash_password
from lightning_flows.accounts.schemas import UserCreate
from lightning_flows.audit import service as audit
from lightning_flows.core.errors import Conflict, NotFound, Unauthenticated
from lightning_flows.core.timeutil import utcnow

TOKEN_PREFIX = "lfp_"  # noqa: S105  # nosec B105


def create_user(session: Session, data: UserCreate, actor: User | None = None) -> User:
    """Create a user with an argon2-hashed password (registration, CLI, superusers)."""
    check_new_password(data.password)
    user = User(
        email=data.email.lower(),
        first_name=data.first_name,
        last_name=data.last_name,
        hashed_password=hash_password(data.password),
        is_superuser=data.is_superuser,
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(f"A user with email {user.email} already exists.") from exc
    audit.record(
        session,
        "created",
        "user",
        user.id,
        actor.id if actor else user.id,
        after={"is_superuser": user.is_superuser},
    )
    session.commit()
    return user


def get_user(session: Session, user_id: uuid.UUID) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("User not found.")
    return user


def get_user_by_email(session: Session, email: str) -> User:
    user = find_user_by_email(session, email)
    if user is None:
        raise NotFound(f"No user with email {email}.")
    return user


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.exec(select(User).where(User.email == email.strip().lower())).first()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(session: Session, user: User, name: str = "") -> tuple[ApiToken, str]:
    """Create a personal access token; the plaintext is returned once and never stored."""
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, token_hash=hash_token(plaintext))
    session.add(token)
    audit.record(
        session,
        "token_created",
        "user",
        user.id,
        user.id,
        details={"token_id": str(token.id), "name": name},
    )
    session.commit()
    return token, plaintext


def list_api_tokens(session: Session, user: User) -> list[ApiToken]:
    """The user's tokens, newest first (revoked ones too, marked)."""
    return list(
        session.exec(
            select(ApiToken)
            .where(ApiToken.user_id == user.id)
            .order_by(col(ApiToken.inserted_at).desc())
        ).all()
    )


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
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.add(token)
        audit.record(
            session,
            "token_revoked",
            "user",
            user.id,
            user.id,
            details={"token_id": str(token.id), "name": token.name},
        )
    session.commit()
    return token
