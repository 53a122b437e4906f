"""Instance administration for superusers: `/api/settings` and `/api/auth_providers`."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from lightning_flows.accounts import instance, providers
from lightning_flows.accounts.policy import require_superuser
from lightning_flows.api.deps import CurrentUser, SessionDep

router = APIRouter(tags=["administration"])


@router.get("/api/settings", response_model=instance.InstanceSettings)
def get_settings(session: SessionDep, user: CurrentUser) -> object:
    require_superuser(user)
    return instance.current(session)


@router.patch("/api/settings", response_model=instance.InstanceSettings)
def update_settings(
    session: SessionDep, user: CurrentUser, data: instance.InstanceSettingsUpdate
) -> object:
    """E.g. `{"allow_registration": false}` turns off self-registration."""
    require_superuser(user)
    return instance.update(session, data, user)


@router.get("/api/auth_providers", response_model=list[providers.ProviderPublic])
def list_providers(session: SessionDep, user: CurrentUser) -> object:
    require_superuser(user)
    return [providers.to_public(p) for p in providers.list_providers(session)]


@router.post(
    "/api/auth_providers",
    response_model=providers.ProviderPublic,
    status_code=status.HTTP_201_CREATED,
)
def create_provider(
    session: SessionDep, user: CurrentUser, data: providers.ProviderCreate
) -> object:
    require_superuser(user)
    return providers.to_public(providers.create_provider(session, data, user))


@router.patch("/api/auth_providers/{provider_id}", response_model=providers.ProviderPublic)
def update_provider(
    session: SessionDep,
    user: CurrentUser,
    provider_id: uuid.UUID,
    data: providers.ProviderUpdate,
) -> object:
    require_superuser(user)
    return providers.to_public(providers.update_provider(session, provider_id, data, user))


@router.delete("/api/auth_providers/{provider_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_provider(session: SessionDep, user: CurrentUser, provider_id: uuid.UUID) -> None:
    require_superuser(user)
    providers.delete_provider(session, provider_id, user)
