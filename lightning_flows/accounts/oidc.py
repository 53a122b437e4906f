"""Single sign-on with OpenID Connect providers configured by a superuser.

Login: `begin_login` builds the provider's authorization URL (state, nonce,
PKCE) and an encrypted value for a short-lived cookie; `finish_login`
exchanges the code (authlib), verifies the id_token's signature against the
provider's JWKS and its iss/aud/exp/nonce claims (joserfc), then signs in the
user with that verified email, creating the account on first login.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc6749.errors import OAuth2Error
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from requests import RequestException
from sqlmodel import Session

from lightning_flows.accounts.models import AuthProvider, User
from lightning_flows.accounts.service import find_user_by_email
from lightning_flows.audit import service as audit
from lightning_flows.core.config import get_settings
from lightning_flows.core.crypto import DecryptionError, get_cipher
from lightning_flows.core.errors import DomainError, Forbidden
from lightning_flows.core.timeutil import utcnow

log = logging.getLogger(__name__)
STATE_TTL_SECONDS = 600
_ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]
_TIMEOUT = 10.0


class SSOError(DomainError):
    """The provider's answer, or the sign-in attempt, cannot be used to sign in."""

    status_code = 400


class ProviderUnavailable(SSOError):
    """The identity provider could not be reached or answered nonsense."""

    status_code = 502


def redirect_uri(provider: AuthProvider) -> str:
    base = get_settings().public_url
    return provider.redirect_uri or f"{base}/auth/sso/{provider.id}/callback"


def _get_json(url: str, what: str) -> dict[str, Any]:
    try:
        response = httpx.get(url, timeout=_TIMEOUT, follow_redirects=True)
        response.raise_for_status()
        data = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ProviderUnavailable(
            f"The identity provider's {what} could not be read ({type(exc).__name__}); "
            "try again later or tell an administrator."
        ) from exc
    if not isinstance(data, dict):
        raise ProviderUnavailable(f"The identity provider's {what} is not a JSON object.")
    return data


def discover(provider: AuthProvider) -> dict[str, Any]:
    metadata = _get_json(provider.discovery_url, "discovery document")
    for key in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(metadata.get(key), str):
            raise ProviderUnavailable(f"The provider's discovery document has no '{key}'.")
    return metadata


def _client(provider: AuthProvider) -> OAuth2Session:
    return OAuth2Session(
        provider.client_id,
        provider.client_secret,
        scope="openid email profile",
        redirect_uri=redirect_uri(provider),
        code_challenge_method="S256",
        timeout=_TIMEOUT,
    )


def begin_login(provider: AuthProvider, next_url: str = "/") -> tuple[str, str]:
    """(authorization URL, encrypted cookie value holding state, nonce and verifier)."""
    if not provider.enabled:
        raise Forbidden(f"Sign-in with {provider.name} is disabled.")
    metadata = discover(provider)
    state, nonce, verifier = generate_token(32), generate_token(32), generate_token(48)
    url, _ = _client(provider).create_authorization_url(
        metadata["authorization_endpoint"], state=state, nonce=nonce, code_verifier=verifier
    )
    cookie = get_cipher().encrypt_json(
        {
            "p": str(provider.id),
            "s": state,
            "n": nonce,
            "v": verifier,
            "next": next_url,
            "exp": int(time.time()) + STATE_TTL_SECONDS,
        }
    )
    return str(url), cookie


def read_cookie(cookie: str | None, provider_id: uuid.UUID, state: str) -> dict[str, Any]:
    try:
        data = get_cipher().decrypt_json(cookie or "")
    except (DecryptionError, ValueError) as exc:
        raise SSOError("The sign-in attempt expired or came from elsewhere; start again.") from exc
    if data.get("p") != str(provider_id) or data.get("s") != state or data["exp"] < time.time():
        raise SSOError("The sign-in attempt expired or came from elsewhere; start again.")
    return dict(data)


def finish_login(
    session: Session, provider: AuthProvider, code: str, pending: dict[str, Any]
) -> User:
    """Verify the provider's answer and return (or create) the signed-in user."""
    metadata = discover(provider)
    try:
        token = _client(provider).fetch_token(
            metadata["token_endpoint"], code=code, code_verifier=pending["v"]
        )
    except (OAuth2Error, OAuthError, RequestException, ValueError) as exc:
        reason = exc.error if isinstance(exc, OAuth2Error | OAuthError) else type(exc).__name__
        raise SSOError(f"The identity provider refused the sign-in ({reason}).") from exc
    claims = _verified_claims(provider, metadata, str(token.get("id_token") or ""), pending["n"])
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise SSOError("The identity provider did not share an email address (scope 'email').")
    if claims.get("email_verified") is False:
        raise SSOError("The identity provider has not verified this email address.")
    user = find_user_by_email(session, email)
    if user is None:
        user = User(
            email=email.lower(),
            first_name=str(claims.get("given_name") or ""),
            last_name=str(claims.get("family_name") or ""),
            hashed_password=None,
            confirmed_at=utcnow(),
        )
        session.add(user)
        session.flush()
        audit.record(
            session, "created", "user", user.id, user.id, details={"via": "sso:" + provider.name}
        )
        session.commit()
    if user.disabled:
        raise Forbidden("This account is disabled; contact an administrator.")
    return user


def _verified_claims(
    provider: AuthProvider, metadata: dict[str, Any], id_token: str, nonce: str
) -> dict[str, Any]:
    if not id_token:
        raise SSOError("The identity provider returned no id_token.")
    keys = KeySet.import_key_set(_get_json(metadata["jwks_uri"], "signing keys"))  # type: ignore[arg-type]
    try:
        decoded = jwt.decode(id_token, keys, algorithms=_ALGORITHMS)
        jwt.JWTClaimsRegistry(
            leeway=60,
            iss={"essential": True, "value": metadata["issuer"]},
            aud={"essential": True, "value": provider.client_id},
            exp={"essential": True},
            nonce={"essential": True, "value": nonce},
        ).validate(decoded.claims)
    except (JoseError, ValueError) as exc:
        log.warning("id_token from %s rejected: %s", provider.name, exc)
        raise SSOError(f"The identity provider's id_token is not valid ({exc}).") from exc
    return dict(decoded.claims)
