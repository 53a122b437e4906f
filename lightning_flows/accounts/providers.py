"""Superuser management of OpenID Connect providers (`/api/auth_providers`)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field, HttpUrl
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from lightning_flows.accounts.models import AuthProvider, User
from lightning_flows.accounts.oidc import redirect_uri
from lightning_flows.audit import service as audit
from lightning_flows.core.errors import Conflict, NotFound
from lightning_flows.core.models import touch


class ProviderCreate(BaseModel):
    name: str = Field(min_length=1, max_length=255)
    discovery_url: HttpUrl = Field(description=".../.well-known/openid-configuration")
    client_id: str = Field(min_length=1, max_length=512)
    client_secret: str = Field(min_length=1, max_length=4096)
    redirect_uri: str = Field(default="", max_length=2048, description="Blank: the default")
    enabled: bool = True


class ProviderUpdate(BaseModel):
    """Fields sent change; a blank `client_secret` keeps the stored one."""

    name: str | None = Field(default=None, min_length=1, max_length=255)
    discovery_url: HttpUrl | None = None
    client_id: str | None = Field(default=None, min_length=1, max_length=512)
    client_secret: str | None = Field(default=None, max_length=4096)
    redirect_uri: str | None = Field(default=None, max_length=2048)
    enabled: bool | None = None


class ProviderPublic(BaseModel):
    id: uuid.UUID
    name: str
    discovery_url: str
    client_id: str
    redirect_uri: str = Field(description="Register this callback URL with the provider")
    enabled: bool
    inserted_at: datetime


def to_public(provider: AuthProvider) -> ProviderPublic:
    return ProviderPublic(
        id=provider.id,
        name=provider.name,
        discovery_url=provider.discovery_url,
        client_id=provider.client_id,
        redirect_uri=redirect_uri(provider),
        enabled=provider.enabled,
        inserted_at=provider.inserted_at,
    )


def list_providers(session: Session, *, enabled_only: bool = False) -> list[AuthProvider]:
    statement = select(AuthProvider).order_by(col(AuthProvider.name))
    if enabled_only:
        statement = statement.where(col(AuthProvider.enabled).is_(True))
    return list(session.exec(statement).all())


def get_provider(session: Session, provider_id: uuid.UUID) -> AuthProvider:
    provider = session.get(AuthProvider, provider_id)
    if provider is None:
        raise NotFound("Identity provider not found.")
    return provider


def create_provider(session: Session, data: ProviderCreate, actor: User) -> AuthProvider:
    provider = AuthProvider(**{**data.model_dump(), "discovery_url": str(data.discovery_url)})
    session.add(provider)
    _flush(session, provider.name)
    audit.record(
        session, "created", "auth_provider", provider.id, actor.id, after={"name": provider.name}
    )
    session.commit()
    return provider


def update_provider(
    session: Session, provider_id: uuid.UUID, data: ProviderUpdate, actor: User
) -> AuthProvider:
    provider = get_provider(session, provider_id)
    changes = data.model_dump(exclude_none=True)
    if not changes.get("client_secret"):
        changes.pop("client_secret", None)
    if "discovery_url" in changes:
        changes["discovery_url"] = str(data.discovery_url)
    for key, value in changes.items():
        setattr(provider, key, value)
    touch(provider)
    session.add(provider)
    _flush(session, provider.name)
    audit.record(
        session,
        "updated",
        "auth_provider",
        provider.id,
        actor.id,
        after={"fields": sorted(changes)},
    )
    session.commit()
    return provider


def delete_provider(session: Session, provider_id: uuid.UUID, actor: User) -> None:
    provider = get_provider(session, provider_id)
    audit.record(
        session, "deleted", "auth_provider", provider.id, actor.id, before={"name": provider.name}
    )
    session.delete(provider)
    session.commit()


def _flush(session: Session, name: str) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(f"An identity provider named '{name}' already exists.") from exc
