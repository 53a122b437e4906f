"""OAuth2 credentials: the authorization-code flow (authlib, with PKCE) and token refresh.

An `oauth` credential's body is the client (`clientId`, `clientSecret`,
`authorizationUrl`, `tokenUrl`, `scope`). Its owner opens the authorization
URL, the provider redirects the browser to `/oauth/callback`, and the token
is stored encrypted in `credentials.oauth_token`. Before a run uses the
credential, a token expiring within `oauth_refresh_margin_seconds` is
refreshed. Jobs get the access token, never the refresh token or client secret.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc6749.errors import OAuth2Error
from requests import RequestException

from adaptor_tasks import AdaptorTasksError
from lightning_flows.core.config import get_settings
from lightning_flows.core.crypto import DecryptionError, get_cipher
from lightning_flows.core.errors import DomainError, InvalidInput
from lightning_flows.credentials.schemas import OAuthStatus

CALLBACK_PATH = "/oauth/callback"
STATE_TTL_SECONDS = 600
_CLIENT_KEYS = {"clientId", "clientSecret", "authorizationUrl", "tokenUrl", "scope"}
_TOKEN_KEYS = ("access_token", "refresh_token", "token_type", "expires_at", "scope", "id_token")
_TIMEOUT = 15


class CredentialUnavailable(DomainError, AdaptorTasksError):
    """A credential cannot be used now (not authorized, refresh refused).

    Also an AdaptorTasksError, so a step that needs it is recorded as crashed
    with this message instead of failing outside the recording.
    """

    status_code = 409


def callback_url() -> str:
    return get_settings().public_url + CALLBACK_PATH


def _client(body: dict[str, Any], **kwargs: Any) -> OAuth2Session:
    return OAuth2Session(
        body["clientId"],
        body.get("clientSecret"),
        scope=body.get("scope") or None,
        redirect_uri=callback_url(),
        code_challenge_method="S256",
        **kwargs,
    )


def authorization_url(credential_id: uuid.UUID, user_id: uuid.UUID, body: dict[str, Any]) -> str:
    """Where to send the owner's browser to grant access; the state is encrypted."""
    verifier = generate_token(48)
    state = get_cipher().encrypt_json(
        {
            "c": str(credential_id),
            "u": str(user_id),
            "v": verifier,
            "exp": int(time.time()) + STATE_TTL_SECONDS,
        }
    )
    url, _state = _client(body).create_authorization_url(
        body["authorizationUrl"], state=state, code_verifier=verifier
    )
    return str(url)


def read_state(state: str) -> tuple[uuid.UUID, uuid.UUID, str]:
    """(credential id, user id, PKCE verifier) from a callback's state, or InvalidInput."""
    try:
        data = get_cipher().decrypt_json(state)
        if int(data["exp"]) < time.time():
            raise InvalidInput("This authorization took too long; start it again.")
        return uuid.UUID(data["c"]), uuid.UUID(data["u"]), str(data["v"])
    except (DecryptionError, KeyError, ValueError, TypeError, json.JSONDecodeError) as exc:
        raise InvalidInput("Invalid OAuth state; start the authorization again.") from exc


def exchange_code(body: dict[str, Any], code: str, verifier: str) -> dict[str, Any]:
    """Trade the authorization code for a token at the provider's token URL."""
    try:
        token = _client(body, timeout=_TIMEOUT).fetch_token(
            body["tokenUrl"], code=code, code_verifier=verifier
        )
    except (OAuth2Error, OAuthError, RequestException, ValueError) as exc:
        raise InvalidInput(f"The provider refused the authorization code: {_reason(exc)}") from exc
    return _normalized(dict(token), None)


def needs_refresh(token: dict[str, Any]) -> bool:
    expires_at = token.get("expires_at")
    if not isinstance(expires_at, int | float):
        return False
    return expires_at - time.time() <= get_settings().oauth_refresh_margin_seconds


def refresh(body: dict[str, Any], token: dict[str, Any], name: str) -> dict[str, Any]:
    """A fresh token (the old refresh token is kept if the provider sends none)."""
    if not token.get("refresh_token"):
        raise CredentialUnavailable(
            f"The OAuth token of credential '{name}' has expired and has no refresh token; "
            "its owner must authorize it again."
        )
    try:
        fresh = _client(body, timeout=_TIMEOUT).refresh_token(
            body["tokenUrl"], refresh_token=token["refresh_token"]
        )
    except (OAuth2Error, OAuthError, RequestException, ValueError) as exc:
        raise CredentialUnavailable(
            f"The OAuth token of credential '{name}' could not be refreshed "
            f"({_reason(exc)}); its owner must authorize it again."
        ) from exc
    return _normalized(dict(fresh), token)


def configuration(body: dict[str, Any], token: dict[str, Any] | None, name: str) -> dict[str, Any]:
    """What a job sees as `state.configuration`: extra body fields plus the access token."""
    if not token or not token.get("access_token"):
        raise CredentialUnavailable(
            f"OAuth credential '{name}' is not authorized yet; its owner must connect it."
        )
    extra = {k: v for k, v in body.items() if k not in _CLIENT_KEYS}
    visible = {k: v for k, v in token.items() if k not in ("refresh_token", "id_token")}
    return {**extra, **visible}


def oauth_status(token: dict[str, Any] | None) -> OAuthStatus:
    token = token or {}
    expires_at = token.get("expires_at")
    return OAuthStatus(
        connected=bool(token.get("access_token")),
        expires_at=(
            datetime.fromtimestamp(expires_at, UTC) if isinstance(expires_at, int | float) else None
        ),
        scope=token.get("scope"),
    )


def _normalized(token: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
    if "expires_at" not in token and isinstance(token.get("expires_in"), int | float):
        token["expires_at"] = int(time.time() + token["expires_in"])
    kept = {k: token[k] for k in _TOKEN_KEYS if token.get(k) is not None}
    if previous and not kept.get("refresh_token") and previous.get("refresh_token"):
        kept["refresh_token"] = previous["refresh_token"]
    return kept


def _reason(exc: Exception) -> str:
    """The provider's error code, never a request body (it may echo secrets)."""
    if isinstance(exc, OAuth2Error | OAuthError):
        return exc.error or type(exc).__name__
    return type(exc).__name__
