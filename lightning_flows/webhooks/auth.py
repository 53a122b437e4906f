"""Webhook authentication: HTTP basic or an `x-api-key`, compared in constant time."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from enum import Enum

from lightning_flows.webhooks.lookup import AuthMethod


class AuthResult(Enum):
    OK = "ok"
    MISSING = "missing"  # 401: tell the caller credentials are required
    WRONG = "wrong"  # 404: do not reveal that the trigger exists


def check(methods: tuple[AuthMethod, ...], headers: Mapping[str, str]) -> AuthResult:
    """Does the request carry credentials matching one of the trigger's methods?"""
    if not methods:
        return AuthResult.OK
    api_key = headers.get("x-api-key")
    basic = _basic_credentials(headers.get("authorization", ""))
    if api_key is None and basic is None:
        return AuthResult.MISSING
    matched = False
    for method in methods:
        # Compare against every method so timing does not tell which one exists.
        if method.auth_type == "api" and api_key is not None:
            matched |= hmac.compare_digest(api_key.encode(), method.secret.encode())
        elif method.auth_type == "basic" and basic is not None:
            user_ok = hmac.compare_digest(basic[0].encode(), (method.username or "").encode())
            password_ok = hmac.compare_digest(basic[1].encode(), method.secret.encode())
            matched |= user_ok and password_ok
    return AuthResult.OK if matched else AuthResult.WRONG


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        user, sep, password = base64.b64decode(encoded.strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None
