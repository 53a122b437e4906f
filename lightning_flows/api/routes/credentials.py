"""`/api/credentials`: the caller's credentials, and those shared with a project."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from lightning_flows.accounts.policy import Action, authorize
from lightning_flows.api.deps import CurrentUser, SessionDep
from lightning_flows.credentials import service, usage
from lightning_flows.credentials.schemas import (
    AuthorizationUrl,
    CredentialCreate,
    CredentialPublic,
    CredentialUpdate,
    ProjectCredentialItem,
    TransferRequest,
)

router = APIRouter(tags=["credentials"])


@router.get("/api/credentials", response_model=list[CredentialPublic])
def list_credentials(session: SessionDep, user: CurrentUser) -> object:
    return [service.to_public(session, c) for c in service.list_credentials(session, user)]


@router.post(
    "/api/credentials", response_model=CredentialPublic, status_code=status.HTTP_201_CREATED
)
def create_credential(session: SessionDep, user: CurrentUser, data: CredentialCreate) -> object:
    return service.to_public(session, service.create_credential(session, user, data))


@router.get("/api/credentials/{credential_id}", response_model=CredentialPublic)
def get_credential(session: SessionDep, user: CurrentUser, credential_id: uuid.UUID) -> object:
    return service.to_public(session, service.get_credential(session, user, credential_id))


@router.patch("/api/credentials/{credential_id}", response_model=CredentialPublic)
def update_credential(
    session: SessionDep, user: CurrentUser, credential_id: uuid.UUID, data: CredentialUpdate
) -> object:
    credential = service.update_credential(session, user, credential_id, data)
    return service.to_public(session, credential)


@router.delete("/api/credentials/{credential_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_credential(session: SessionDep, user: CurrentUser, credential_id: uuid.UUID) -> None:
    service.delete_credential(session, user, credential_id)


@router.post("/api/credentials/{credential_id}/transfer", response_model=CredentialPublic)
def transfer_credential(
    session: SessionDep, user: CurrentUser, credential_id: uuid.UUID, data: TransferRequest
) -> object:
    credential = service.transfer_credential(session, user, credential_id, data.email)
    return service.to_public(session, credential)


@router.post("/api/credentials/{credential_id}/oauth/authorize", response_model=AuthorizationUrl)
def authorize_oauth(session: SessionDep, user: CurrentUser, credential_id: uuid.UUID) -> object:
    """Open the returned URL in a browser signed in as the owner to connect the account."""
    return AuthorizationUrl(
        authorization_url=usage.oauth_authorization_url(session, user, credential_id)
    )


@router.get("/api/projects/{project_id}/credentials", response_model=list[ProjectCredentialItem])
def list_project_credentials(
    session: SessionDep, user: CurrentUser, project_id: uuid.UUID
) -> object:
    authorize(session, user, Action.READ_CREDENTIALS, project_id)
    return service.list_for_project(session, project_id)
