"""Account request and response types."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, EmailStr, Field

from lightning_flows.accounts.passwords import MIN_PASSWORD_LENGTH


class UserCreate(BaseModel):
    email: EmailStr
    password: str = Field(min_length=MIN_PASSWORD_LENGTH)
    first_name: str = ""
    last_name: str = ""
    is_superuser: bool = False


class UserPublic(BaseModel):
    id: uuid.UUID
    email: str
    first_name: str
    last_name: str
    is_superuser: bool
    disabled: bool
    mfa_enabled: bool
    inserted_at: datetime


class TokenPublic(BaseModel):
    id: uuid.UUID
    name: str
    last_used_at: datetime | None
    revoked_at: datetime | None
    inserted_at: datetime


class ProfileUpdate(BaseModel):
    first_name: str | None = Field(default=None, max_length=255)
    last_name: str | None = Field(default=None, max_length=255)


class AdminUserUpdate(BaseModel):
    """What a superuser changes on an account."""

    disabled: bool | None = None
    is_superuser: bool | None = None


class PasswordChange(BaseModel):
    current_password: str = Field(default="", max_length=1024)
    new_password: str = Field(max_length=1024)


class TokenCreate(BaseModel):
    name: str = Field(default="", max_length=255)


class TokenCreated(TokenPublic):
    token: str = Field(description="Shown once: store it now, it cannot be read again")
