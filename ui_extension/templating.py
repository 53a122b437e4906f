"""Rendering pages: Jinja2 templates with the context every page needs.

`render(request, "auth/login.html", {...}, user=user)` adds `csrf_token` (for
`{% include "csrf.html" %}` in forms and the `csrf-token` meta tag),
`current_user`, and security headers, and issues the anonymous CSRF cookie
when the visitor has none. Templates autoescape everything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from lightning_flows.accounts.models import User
from lightning_flows.api import web

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))

AFTER_LOGIN = "/profile"  # where sign-in lands without ?next= (the UI's home page later)

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    user: User | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    token = web.csrf_token(request)
    response = templates.TemplateResponse(
        request,
        name,
        {"csrf_token": token, "current_user": user, **(context or {})},
        status_code=status_code,
        headers=SECURITY_HEADERS,
    )
    web.csrf_token(request, response)  # sets the anonymous CSRF cookie if it was new
    return response


def redirect(url: str) -> RedirectResponse:
    """See-other redirect after a form post (the browser then GETs `url`)."""
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})
