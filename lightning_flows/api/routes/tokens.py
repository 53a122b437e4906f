"""`/api/tokens`: the caller's personal access tokens (the secret is shown once)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from lightning_flows.accounts import service
from lightning_flows.accounts.schemas import TokenCreate, TokenCreated, TokenPublic
from lightning_flows.api.deps import CurrentUser, SessionDep

router = APIRouter(prefix="/api/tokens", tags=["tokens"])


@router.get("", response_model=list[TokenPublic])
def list_tokens(session: SessionDep, user: CurrentUser) -> object:
    return service.list_api_tokens(session, user)


@router.post("", response_model=TokenCreated, status_code=status.HTTP_201_CREATED)
def create_token(session: SessionDep, user: CurrentUser, data: TokenCreate) -> object:
    token, plaintext = service.create_api_token(session, user, data.name)
    return TokenCreated(**token.model_dump(), token=plaintext)


@router.delete("/{token_id}", response_model=TokenPublic)
def revoke_token(session: SessionDep, user: CurrentUser, token_id: uuid.UUID) -> object:
    return service.revoke_api_token(session, user, token_id)
