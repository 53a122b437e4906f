"""Run tokens for the collections API: signed, expiring, scoped to one project.

The engine gives each step `collections_token` (and `collections_endpoint`) in
`state.configuration`, as Lightning's worker does. The token is never a user's
token: it is `lfc1.<payload>.<signature>`, where the payload names the project
and the run and says when it expires, and the signature is an HMAC-SHA256 with
a key derived from the instance's encryption key. It opens only the
collections of its project, and the step's log scrubber hides it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass

from lightning_flows.core.config import get_settings
from lightning_flows.core.errors import Unauthenticated

PREFIX = "lfc1."
_PURPOSE = "collections-run-token"


@dataclass(frozen=True)
class RunGrant:
    """What a valid run token allows: the collections of one project."""

    project_id: uuid.UUID
    run_id: uuid.UUID
    expires_at: int


def _key() -> bytes:
    from lightning_flows.core.crypto import get_cipher

    return get_cipher().derive_key(_PURPOSE)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def mint(project_id: uuid.UUID, run_id: uuid.UUID, ttl_seconds: float) -> str:
    """A token for `run_id`'s steps, valid for `ttl_seconds` from now."""
    payload = {"p": str(project_id), "r": str(run_id), "exp": int(time.time() + ttl_seconds)}
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    signature = hmac.new(_key(), body.encode(), hashlib.sha256).digest()
    return f"{PREFIX}{body}.{_b64(signature)}"


def is_run_token(token: str) -> bool:
    return token.startswith(PREFIX)


def verify(token: str) -> RunGrant:
    """The grant of a run token, or Unauthenticated (bad signature, malformed, expired)."""
    try:
        body, signature = token.removeprefix(PREFIX).split(".")
        expected = hmac.new(_key(), body.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(signature)):
            raise ValueError("signature")
        payload = json.loads(_unb64(body))
        grant = RunGrant(uuid.UUID(payload["p"]), uuid.UUID(payload["r"]), int(payload["exp"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise Unauthenticated("The collections token is not valid.") from exc
    if grant.expires_at < time.time():
        raise Unauthenticated(
            "The collections token has expired: each run gets a new one for its steps."
        )
    return grant


def ttl_for_step(step_timeout_s: float | None) -> float:
    """A step's token outlives the step's time limit by a margin, and no more."""
    limit = step_timeout_s or get_settings().step_timeout_seconds
    return float(limit) + get_settings().collections_token_margin_seconds


def endpoint() -> str:
    """The collections API as jobs reach it (`state.configuration.collections_endpoint`)."""
    settings = get_settings()
    return (settings.collections_url or f"{settings.public_url}/collections").rstrip("/")
