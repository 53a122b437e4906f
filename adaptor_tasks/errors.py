"""Errors raised by adaptor_tasks."""

from __future__ import annotations


class AdaptorTasksError(Exception):
    """Base class of every error raised by this package."""


class ConditionError(AdaptorTasksError):
    """An edge condition (``js_expression``) failed to compile or threw."""


class AdaptorNotFoundError(AdaptorTasksError):
    """The adaptor package or version does not exist."""


class AdaptorInstallError(AdaptorTasksError):
    """Installing an adaptor package failed."""


class WorkerError(AdaptorTasksError):
    """A Node worker could not start, or answered a request with an error."""


class PoolClosedError(AdaptorTasksError):
    """The pool was closed."""
