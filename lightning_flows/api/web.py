"""The browser side of accounts: session cookies, CSRF tokens, and the dependencies
pages use (`SessionUser`, `OptionalSessionUser`, `CSRFProtected`).

Cookies are HttpOnly, SameSite=Lax and Secure (named `__Host-...`) whenever
`Settings.secure_cookies` holds. CSRF uses signed double-submit tokens: the
token is an HMAC (key derived from the encryption key) of the session cookie,
or of an anonymous `lf_csrf` cookie before sign-in. Forms send it as the
`csrf_token` field; scripts send it in the `X-CSRF-Token` header.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request, Response
from sqlmodel import Session

from lightning_flows.accounts import sessions
from lightning_flows.accounts.models import User, UserSession
from lightning_flows.core.config import get_settings
from lightning_flows.core.crypto import get_cipher
from lightning_flows.core.db import SessionDep
from lightning_flows.core.errors import Forbidden

CSRF_FIELD = "csrf_token"  # nosec B105
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CSRFError(Forbidden):
    """A state-changing request without a valid CSRF token."""


def cookie_name(base: str) -> str:
    """`__Host-<base>` when cookies are Secure (pins them to this host and path /)."""
    return f"__Host-{base}" if get_settings().secure_cookies else base


def session_cookie_name() -> str:
    return cookie_name("lf_session")


def anon_cookie_name() -> str:
    return cookie_name("lf_csrf")


def _set(response: Response, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        secure=get_settings().secure_cookies,
        httponly=True,
        samesite="lax",
    )


def set_session_cookie(response: Response, token: str) -> None:
    _set(response, session_cookie_name(), token, int(get_settings().session_ttl_hours * 3600))


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(session_cookie_name(), path="/", secure=get_settings().secure_cookies)


def set_short_cookie(response: Response, base: str, value: str, max_age: int) -> None:
    """A short-lived HttpOnly cookie (e.g. the SSO state) named like the others."""
    _set(response, cookie_name(base), value, max_age)


def read_cookie(request: Request, base: str) -> str | None:
    return request.cookies.get(cookie_name(base))


def session_from_request(request: Request, db: Session) -> tuple[UserSession, User] | None:
    """The request's live session and user (MFA possibly still pending), or None."""
    return sessions.find_session(db, request.cookies.get(session_cookie_name()))


# --- CSRF ----------------------------------------------------------------------------


def _binding(request: Request) -> str | None:
    return request.cookies.get(session_cookie_name()) or request.cookies.get(anon_cookie_name())


def _sign(binding: str) -> str:
    key = get_cipher().derive_key("csrf")
    return hmac.new(key, binding.encode(), "sha256").hexdigest()


def csrf_token(request: Request, response: Response | None = None) -> str:
    """The token for forms on this page; issues the anonymous cookie if needed."""
    binding = _binding(request) or getattr(request.state, "new_csrf_binding", None)
    if binding is None:
        binding = secrets.token_urlsafe(32)
        request.state.new_csrf_binding = binding
    if response is not None and getattr(request.state, "new_csrf_binding", None):
        _set(response, anon_cookie_name(), request.state.new_csrf_binding, None)
    return _sign(binding)


def csrf_valid(request: Request, token: str | None) -> bool:
    binding = _binding(request)
    if not binding or not token:
        return False
    return hmac.compare_digest(_sign(binding), str(token))


async def require_csrf(request: Request) -> None:
    """Refuse a state-changing request whose CSRF token is missing or wrong."""
    if request.method in SAFE_METHODS:
        return
    token = request.headers.get(CSRF_HEADER)
    if token is None and "form" in request.headers.get("content-type", ""):
        token = (await request.form()).get(CSRF_FIELD)  # type: ignore[assignment]
    if not csrf_valid(request, token):
        raise CSRFError(
            "This form has expired or did not come from this site (CSRF check failed): "
            "reload the page and try again."
        )


CSRFProtected = Depends(require_csrf)


# --- dependencies for pages ----------------------------------------------------------


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to go to after signing in (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def optional_session_user(request: Request, db: SessionDep) -> User | None:
    """The signed-in user (MFA step done), or None."""
    found = session_from_request(request, db)
    if found is None or not found[0].mfa_verified:
        return None
    return found[1]


def require_session_user(
    request: Request, user: Annotated[User | None, Depends(optional_session_user)]
) -> User:
    """The signed-in user; anyone else is redirected to the login page (303)."""
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise HTTPException(status_code=303, headers={"Location": f"/login?next={quote(target)}"})
    return user


SessionUser = Annotated[User, Depends(require_session_user)]
OptionalSessionUser = Annotated[User | None, Depends(optional_session_user)]
