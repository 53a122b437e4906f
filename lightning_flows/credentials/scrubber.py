"""Scrubbing secrets out of logs and dataclips before they are stored or sent anywhere.

The secret values of a credential are all its values except those under
non-secret keys (username, host, baseUrl, ...), plus the base64 of every
`user:password` pair, as HTTP basic auth headers carry them.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from typing import Any

NON_SECRET_KEYS = frozenset(
    {
        "username",
        "user",
        "email",
        "host",
        "hosturl",
        "baseurl",
        "apiurl",
        "database",
        "port",
        "apiversion",
    }
)
_USER_KEYS = ("username", "user", "email", "clientId", "client_id")
_PASSWORD_KEYS = ("password", "pass", "clientSecret", "client_secret", "apiKey", "token")
MASK = "***"
MIN_SECRET_NUMBER_DIGITS = 4


def secret_values(body: dict[str, Any]) -> set[str]:
    """Every value of a credential body that must never be shown."""
    found: set[str] = set()
    _collect(body, found)
    for user_key in _USER_KEYS:
        for password_key in _PASSWORD_KEYS:
            user, password = body.get(user_key), body.get(password_key)
            if isinstance(user, str) and isinstance(password, str | int):
                pair = f"{user}:{password}".encode()
                found.add(base64.b64encode(pair).decode())
    return {value for value in found if value}


def _collect(value: Any, found: set[str], key: str | None = None) -> None:
    if key is not None and key.lower() in NON_SECRET_KEYS:
        return
    if isinstance(value, dict):
        for k, v in value.items():
            _collect(v, found, str(k))
    elif isinstance(value, list):
        for item in value:
            _collect(item, found, key)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int | float):
        # Small numbers are settings (retries, timeouts), not secrets; a PIN has 4+ digits.
        if len(str(value)) >= MIN_SECRET_NUMBER_DIGITS:
            found.add(str(value))
    elif isinstance(value, str):
        found.add(value)


class Scrubber:
    """Replaces every known secret (longest first) with `***`."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        ordered = sorted({s for s in secrets if s}, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(s) for s in ordered)) if ordered else None

    @classmethod
    def for_credentials(cls, bodies: Iterable[dict[str, Any]]) -> Scrubber:
        secrets: set[str] = set()
        for body in bodies:
            secrets |= secret_values(body)
        return cls(secrets)

    def text(self, value: str) -> str:
        return self._pattern.sub(MASK, value) if self._pattern else value

    def value(self, value: Any) -> Any:
        """A copy of any JSON value with secrets masked in every string (keys too)."""
        if self._pattern is None:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self.value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, int | float) and not isinstance(value, bool):
            masked = self.text(str(value))
            return MASK if masked != str(value) else value
        return value
