"""Translation between worker protocol messages and the package's value types."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from adaptor_tasks.models import CompileResult, ExitReason, LogEntry, StepRequest, StepResult


def run_message(
    request_id: int, request: StepRequest, timeout_s: float, state_limit_bytes: int
) -> dict[str, Any]:
    """The ``run`` request for one step."""
    message: dict[str, Any] = {
        "id": request_id,
        "op": "run",
        "step_id": request.step_id,
        "body": request.body,
        "adaptor": request.adaptor.to_wire(),
        "state": request.state,
        "options": {"state_limit_bytes": state_limit_bytes, "timeout_ms": round(timeout_s * 1000)},
    }
    if request.name:
        message["name"] = request.name
    if request.cache_key:
        message["cache_key"] = request.cache_key
    return message


def parse_timestamp(value: Any) -> datetime:
    """ISO-8601 UTC timestamp from the worker; now (UTC) if missing or malformed."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).astimezone(UTC)
        except ValueError:
            pass
    return datetime.now(UTC)


def log_entry(message: dict[str, Any]) -> LogEntry:
    """A ``log`` protocol message as a LogEntry."""
    return LogEntry(
        timestamp=parse_timestamp(message.get("timestamp")),
        level=str(message.get("level", "info")),
        source=str(message.get("source", "R/T")),
        message=str(message.get("message", "")),
    )


def step_result(message: dict[str, Any], logs: list[LogEntry]) -> StepResult:
    """A ``result`` protocol message of a ``run`` request as a StepResult."""
    state = message.get("state")
    line = message.get("error_line")
    return StepResult(
        exit_reason=ExitReason(message.get("exit_reason", "exception")),
        error_type=message.get("error_type"),
        error_message=message.get("error_message"),
        state=state if isinstance(state, dict) else None,
        logs=logs,
        duration_ms=float(message.get("duration_ms") or 0.0),
        error_line=line if isinstance(line, int) else None,
    )


def failed_step(
    exit_reason: ExitReason,
    error_type: str,
    error_message: str,
    logs: list[LogEntry],
    duration_ms: float,
) -> StepResult:
    """A StepResult for an outcome the worker could not report itself (timeout, crash)."""
    return StepResult(
        exit_reason=exit_reason,
        error_type=error_type,
        error_message=error_message,
        state=None,
        logs=logs,
        duration_ms=duration_ms,
    )


def compile_result(message: dict[str, Any]) -> CompileResult:
    """A ``compile`` answer (``result`` or ``error``) as a CompileResult."""
    if message.get("type") == "result":
        return CompileResult(
            ok=True, code=str(message.get("code", "")), imports=tuple(message.get("imports") or ())
        )
    error = message.get("error") or {}
    line, column = error.get("line"), error.get("column")
    return CompileResult(
        ok=False,
        error_type=str(error.get("type", "Error")),
        error_message=str(error.get("message", "")),
        line=line if isinstance(line, int) else None,
        column=column if isinstance(column, int) else None,
    )


def error_text(message: dict[str, Any]) -> str:
    """``Type: message`` of an ``error`` protocol message."""
    error = message.get("error") or {}
    return f"{error.get('type', 'Error')}: {error.get('message', '')}"
