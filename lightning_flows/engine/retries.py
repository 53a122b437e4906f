"""Automatic retries of a failed step: which exits are retried, and how long to wait.

Only an operation's `fail` or `crash` is retried; a `kill` (time, memory or state
size limit) only when the job opts in (`retry_on_kill`); `exception` (ours), `cancel`
and `lost` never. Each attempt runs on the step's original input and is its own step
record; the step's result is that of its last attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

RETRIED = frozenset({"fail", "crash"})


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 1
    delay_seconds: float = 0.0
    backoff: float = 1.0
    on_kill: bool = False

    @classmethod
    def of_job(cls, job: dict[str, Any]) -> RetryPolicy:
        """The policy of a job as stored in a snapshot (older snapshots: no retries)."""
        return cls(
            max_attempts=int(job.get("max_attempts") or 1),
            delay_seconds=float(job.get("retry_delay_seconds") or 0),
            backoff=float(job.get("retry_backoff") or 1.0),
            on_kill=bool(job.get("retry_on_kill", False)),
        )

    def should_retry(self, exit_reason: str, attempt: int) -> bool:
        """Whether attempt `attempt` (1-based) that ended `exit_reason` is tried again."""
        if attempt >= self.max_attempts:
            return False
        return exit_reason in RETRIED or (exit_reason == "kill" and self.on_kill)

    def delay_before(self, attempt: int) -> float:
        """Seconds to wait before attempt `attempt` (2-based: the first retry)."""
        return self.delay_seconds * self.backoff ** max(attempt - 2, 0)
