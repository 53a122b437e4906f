"""Domain errors raised by services; the API maps each class to one HTTP status."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a person can act on. `status_code` is its HTTP mapping."""

    status_code = 400

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidInput(DomainError):
    """The request is well-formed but its content is not acceptable."""

    status_code = 422


class Unauthenticated(DomainError):
    status_code = 401


class Forbidden(DomainError):
    status_code = 403


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    status_code = 409


class LimitExceeded(DomainError):
    """A usage limit is reached; `retry_after` says in how many seconds it resets."""

    status_code = 429

    def __init__(self, message: str, *, retry_after: int, details: Any = None) -> None:
        super().__init__(message, details=details)
        self.retry_after = retry_after


class InvalidTransition(Conflict):
    """A run or work order was asked to move to a state it cannot reach."""


class ConfigurationError(Exception):
    """The platform is misconfigured and must not start (not an HTTP error)."""
