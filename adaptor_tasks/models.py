"""Value types exchanged with the Node worker pool."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any


class ExitReason(StrEnum):
    """How a step ended, with OpenFn's names."""

    SUCCESS = "success"
    FAIL = "fail"
    CRASH = "crash"
    CANCEL = "cancel"
    KILL = "kill"
    EXCEPTION = "exception"
    LOST = "lost"


@dataclass(frozen=True)
class AdaptorRef:
    """An installed adaptor package: npm name, exact version and package directory."""

    name: str
    version: str
    path: Path

    @property
    def specifier(self) -> str:
        """``name@version``, as OpenFn writes it."""
        return f"{self.name}@{self.version}"

    def to_wire(self) -> dict[str, str]:
        """The adaptor as the worker protocol expects it."""
        return {"name": self.name, "version": self.version, "path": str(self.path)}


@dataclass(frozen=True)
class LogEntry:
    """One log line of a step: ``source`` is ``JOB``, ``R/T`` or ``ADA``."""

    timestamp: datetime
    level: str
    source: str
    message: str


@dataclass(frozen=True)
class StepRequest:
    """One job step to execute; ``state`` includes ``configuration`` (credentials)."""

    step_id: str
    body: str
    adaptor: AdaptorRef
    state: dict[str, Any]
    timeout_s: float | None = None
    name: str | None = None
    cache_key: str | None = None
    """Steps with the same key (the steps of one run) share adaptor module instances,
    as OpenFn's runtime does within a workflow run; without one, a step links its own."""
    state_limit_bytes: int | None = None
    """A lower limit for this step only (a project's own); None: the pool's."""


@dataclass
class StepResult:
    """Outcome of a step; ``state`` has ``configuration`` and ``response`` removed."""

    exit_reason: ExitReason
    error_type: str | None
    error_message: str | None
    state: dict[str, Any] | None
    logs: list[LogEntry] = field(default_factory=list)
    duration_ms: float = 0.0
    error_line: int | None = None

    @property
    def succeeded(self) -> bool:
        """True when the step ended with exit reason ``success``."""
        return self.exit_reason is ExitReason.SUCCESS


@dataclass(frozen=True)
class CompileResult:
    """A compiled job (ES module source) or the reason it does not compile."""

    ok: bool
    code: str | None = None
    imports: tuple[str, ...] = ()
    error_type: str | None = None
    error_message: str | None = None
    line: int | None = None
    column: int | None = None
