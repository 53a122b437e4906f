"""Using credentials: connecting OAuth ones, and the configuration a run receives.

`configuration_for` is what the engine calls inside a step: it decrypts the
body, refreshes an expiring OAuth token first (row-locked on PostgreSQL so
concurrent runs refresh once) and returns `state.configuration`.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session, select

from lightning_flows.accounts.models import User
from lightning_flows.audit import service as audit
from lightning_flows.core.errors import Forbidden, InvalidInput
from lightning_flows.core.models import touch
from lightning_flows.credentials import oauth
from lightning_flows.credentials.models import Credential, ProjectCredential
from lightning_flows.credentials.service import get_credential
from lightning_flows.credentials.validation import OAUTH


def oauth_authorization_url(session: Session, user: User, credential_id: uuid.UUID) -> str:
    """The provider URL where the owner grants access to an `oauth` credential."""
    credential = get_credential(session, user, credential_id)
    if credential.schema_name != OAUTH:
        raise InvalidInput(
            f"Credential '{credential.name}' is of schema '{credential.schema_name}'; "
            "only 'oauth' credentials are authorized with a provider."
        )
    return oauth.authorization_url(credential.id, credential.user_id, dict(credential.body))


def complete_oauth(session: Session, user: User, code: str, state: str) -> Credential:
    """Finish the flow in the browser session of the user who started it; store the token."""
    credential_id, user_id, verifier = oauth.read_state(state)
    if user_id != user.id:
        raise Forbidden("This authorization was started by another account; sign in as its owner.")
    credential = get_credential(session, user, credential_id)
    credential.oauth_token = oauth.exchange_code(dict(credential.body), code, verifier)
    touch(credential)
    session.add(credential)
    audit.record(
        session,
        "updated",
        "credential",
        credential.id,
        user.id,
        details={"oauth": "authorized", "body_fields": []},
    )
    session.commit()
    return credential


def configuration_for(session: Session, project_credential_id: uuid.UUID) -> dict[str, Any] | None:
    """The `state.configuration` for a job's credential (None if it is no longer shared).

    Only call this where the job runs: the result holds decrypted secrets.
    Raises `oauth.CredentialUnavailable` if an OAuth token cannot be had.
    """
    link = session.get(ProjectCredential, project_credential_id)
    if link is None:
        return None
    credential = session.exec(
        select(Credential).where(Credential.id == link.credential_id).with_for_update()
    ).first()
    if credential is None:
        return None
    body = dict(credential.body)
    if credential.schema_name != OAUTH:
        return body
    token = credential.oauth_token
    if token and oauth.needs_refresh(token):
        token = oauth.refresh(body, token, credential.name)
        credential.oauth_token = token
        session.add(credential)
        session.commit()
    return oauth.configuration(body, token, credential.name)
