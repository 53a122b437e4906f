"""`/api/users`: your own account (`me`), and every account for superusers."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from lightning_flows.accounts import auth, lifecycle, mfa, service
from lightning_flows.accounts.models import User
from lightning_flows.accounts.policy import require_superuser
from lightning_flows.accounts.schemas import (
    AdminUserUpdate,
    PasswordChange,
    ProfileUpdate,
    UserCreate,
    UserPublic,
)
from lightning_flows.api.deps import CurrentUser, SessionDep
from lightning_flows.core.errors import Forbidden
from lightning_flows.core.models import touch

router = APIRouter(prefix="/api/users", tags=["users"])


@router.get("/me", response_model=UserPublic)
def get_me(user: CurrentUser) -> User:
    return user


@router.patch("/me", response_model=UserPublic)
def update_me(session: SessionDep, user: CurrentUser, data: ProfileUpdate) -> User:
    for key, value in data.model_dump(exclude_none=True).items():
        setattr(user, key, value)
    touch(user)
    session.add(user)
    session.commit()
    return user


@router.post("/me/password", status_code=status.HTTP_204_NO_CONTENT)
def change_password(session: SessionDep, user: CurrentUser, data: PasswordChange) -> None:
    """Change your password; every browser session of yours is signed out."""
    auth.change_password(session, user, data.current_password, data.new_password)


@router.get("", response_model=list[UserPublic])
def list_users(session: SessionDep, user: CurrentUser) -> object:
    require_superuser(user)
    from sqlmodel import col, select

    return session.exec(select(User).order_by(col(User.email))).all()


@router.post("", response_model=UserPublic, status_code=status.HTTP_201_CREATED)
def create_user(session: SessionDep, user: CurrentUser, data: UserCreate) -> User:
    require_superuser(user)
    return service.create_user(session, data, actor=user)


@router.get("/{user_id}", response_model=UserPublic)
def get_user(session: SessionDep, user: CurrentUser, user_id: uuid.UUID) -> User:
    require_superuser(user)
    return service.get_user(session, user_id)


@router.patch("/{user_id}", response_model=UserPublic)
def update_user(
    session: SessionDep, user: CurrentUser, user_id: uuid.UUID, data: AdminUserUpdate
) -> User:
    """Disable/enable an account or grant/remove superuser (superusers only)."""
    require_superuser(user)
    target = service.get_user(session, user_id)
    if data.disabled is not None:
        lifecycle.set_disabled(session, target, data.disabled, user)
    if data.is_superuser is not None:
        lifecycle.set_superuser(session, target, data.is_superuser, user)
    return target


@router.delete("/{user_id}/mfa", status_code=status.HTTP_204_NO_CONTENT)
def reset_mfa(session: SessionDep, user: CurrentUser, user_id: uuid.UUID) -> None:
    """Turn off MFA for someone who lost their device and backup codes (superusers only)."""
    require_superuser(user)
    mfa.disable(session, service.get_user(session, user_id), "", actor=user)


@router.delete("/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_user(session: SessionDep, user: CurrentUser, user_id: uuid.UUID) -> None:
    """Delete and purge an account: superusers any, everyone else only their own."""
    if user_id != user.id and not user.is_superuser:
        raise Forbidden("Only a superuser can delete another account.")
    lifecycle.delete_user(session, service.get_user(session, user_id), user)
