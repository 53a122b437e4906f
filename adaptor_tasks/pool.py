"""A thread-safe pool of long-lived Node workers that run OpenFn job steps."""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from adaptor_tasks import wire
from adaptor_tasks.errors import ConditionError, WorkerError
from adaptor_tasks.models import (
    AdaptorRef,
    CompileResult,
    ExitReason,
    LogEntry,
    StepRequest,
    StepResult,
)
from adaptor_tasks.process import ChannelClosed, ChannelTimeout, NodeProcess
from adaptor_tasks.slots import WorkerSlots

log = logging.getLogger(__name__)

DEFAULT_NODE_DIR = Path(__file__).resolve().parent / "node"

# Only these variables reach the workers: the platform's own secrets (database
# URL, encryption key, ...) must never be readable from job or adaptor code.
_PASSED_ENV = (
    "PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR",
    "NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE", "SSL_CERT_DIR",
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
)  # fmt: skip
# Time the runtime gets past the step timeout to report a TimeoutError itself
# before the process is considered hung and killed.
_TIMEOUT_GRACE_S = 0.5
_REQUEST_TIMEOUT_S = 30.0
# A worker whose heap passes this share of its limit is replaced after the step
# (every run links its own adaptor instance, and Node never unloads modules).
_HEAP_RECYCLE_FRACTION = 0.6
_OOM_MARKERS = ("heap out of memory", "Reached heap limit", "Allocation failed")

LogCallback = Callable[[LogEntry], None]


class NodePool:
    """Runs job steps in ``size`` long-lived Node processes, one step at a time each.

    Calls may come from many threads: each waits for a free process. A process
    that times out, runs out of memory or dies is replaced; the pool keeps serving.
    """

    def __init__(
        self,
        size: int | None = None,
        *,
        step_timeout_s: float = 300.0,
        memory_limit_mb: int = 1024,
        state_limit_bytes: int = 50 * 1024 * 1024,
        node_dir: Path | None = None,
        node_binary: str = "node",
        max_steps_per_process: int = 500,
        start_timeout_s: float = 30.0,
        condition_timeout_ms: int = 250,
        preload: Sequence[AdaptorRef] = (),
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.size = size or os.cpu_count() or 1
        self.step_timeout_s = step_timeout_s
        self.memory_limit_mb = memory_limit_mb
        self.state_limit_bytes = state_limit_bytes
        self.node_dir = (node_dir or DEFAULT_NODE_DIR).resolve()
        self.max_steps_per_process = max_steps_per_process
        self.start_timeout_s = start_timeout_s
        self.condition_timeout_ms = condition_timeout_ms
        self._argv = [
            node_binary,
            "--experimental-vm-modules",
            "--no-warnings",
            # Blocks the classic vm escape (a host function's constructor compiling code).
            "--disallow-code-generation-from-strings",
            f"--max-old-space-size={memory_limit_mb}",
            str(self.node_dir / "worker.mjs"),
        ]
        if preload:
            self._argv.append("--preload=" + json.dumps([ref.to_wire() for ref in preload]))
        self._env = {key: os.environ[key] for key in _PASSED_ENV if key in os.environ}
        self._env.update(env or {})
        self._ids = itertools.count(1)
        self._slots = WorkerSlots(self.size, self._spawn)

    def _spawn(self) -> NodeProcess:
        process = NodeProcess(self._argv, self.node_dir, self._env)
        process.start(self.start_timeout_s)
        return process

    def __enter__(self) -> NodePool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def warm_up(self) -> None:
        """Start all worker processes now rather than on first use."""
        self._slots.warm_up()

    def close(self) -> None:
        """Stop idle workers now and busy ones as soon as their step ends."""
        self._slots.close()

    def kill_all(self) -> None:
        """Close the pool and end every process now, busy ones too: their steps end with
        a WorkerError (a stopping worker whose grace period is over)."""
        self.close()
        for pid in self._slots.busy_pids():
            # SIGKILL only: the thread using each process sees its channel close and
            # releases it (closing its pipes from here would race with that thread).
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)

    def run_step(self, request: StepRequest, on_log: LogCallback | None = None) -> StepResult:
        """Execute one job step; ``on_log`` (optional) sees each log line as it arrives."""
        timeout_s = request.timeout_s if request.timeout_s is not None else self.step_timeout_s
        logs: list[LogEntry] = []
        try:
            with self._slots.checkout() as process:
                return self._run_on(process, request, timeout_s, logs, on_log)
        except WorkerError as exc:
            return wire.failed_step(ExitReason.EXCEPTION, "WorkerError", str(exc), logs, 0.0)

    def _run_on(
        self,
        process: NodeProcess,
        request: StepRequest,
        timeout_s: float,
        logs: list[LogEntry],
        on_log: LogCallback | None,
    ) -> StepResult:
        started = time.monotonic()
        request_id = next(self._ids)
        # Until the worker says the job started, allow for first-use costs (adaptor
        # import, compile) on top of the step's own limit, which counts from "started".
        deadline = started + self.start_timeout_s + timeout_s
        try:
            state_limit = min(
                request.state_limit_bytes or self.state_limit_bytes, self.state_limit_bytes
            )
            process.send(wire.run_message(request_id, request, timeout_s, state_limit))
            message = _collect(
                process, request_id, deadline, logs, on_log, timeout_s + _TIMEOUT_GRACE_S
            )
        except ChannelTimeout:
            self._slots.replace(process)
            return wire.failed_step(
                ExitReason.KILL,
                "TimeoutError",
                f"Step {request.step_id} did not finish within {timeout_s:g}s; "
                "its worker was stopped",
                logs,
                _elapsed_ms(started),
            )
        except ChannelClosed:
            result = self._worker_died(process, request.step_id, logs, _elapsed_ms(started))
            self._slots.replace(process)
            return result
        except BaseException:
            # Interrupted mid-step (e.g. KeyboardInterrupt): the worker's state is unknown.
            self._slots.replace(process)
            raise
        process.steps_run += 1
        if message.get("type") == "error":
            error = wire.error_text(message)
            result = wire.failed_step(
                ExitReason.EXCEPTION, "WorkerError", error, logs, _elapsed_ms(started)
            )
        else:
            result = wire.step_result(message, logs)
        if self._needs_recycling(process, result, message):
            self._slots.replace(process)
        return result

    def _worker_died(
        self, process: NodeProcess, step_id: str, logs: list[LogEntry], elapsed_ms: float
    ) -> StepResult:
        code = process.wait_exit(5.0)
        tail = process.output_tail()
        if any(marker in tail for marker in _OOM_MARKERS):
            return wire.failed_step(
                ExitReason.KILL,
                "OOMError",
                f"Step {step_id} ran out of memory (limit {self.memory_limit_mb} MB); "
                "its worker was stopped",
                logs,
                elapsed_ms,
            )
        last_line = f": {tail.splitlines()[-1]}" if tail else ""
        return wire.failed_step(
            ExitReason.CRASH,
            "ExitError",
            f"The worker running step {step_id} exited unexpectedly "
            f"({_describe_exit(code)}){last_line}",
            logs,
            elapsed_ms,
        )

    def _needs_recycling(
        self, process: NodeProcess, result: StepResult, message: dict[str, Any]
    ) -> bool:
        # After a timeout or security kill the job may have left timers or promises running.
        if result.exit_reason is ExitReason.KILL and result.error_type != "StateTooLargeError":
            return True
        if process.steps_run >= self.max_steps_per_process:
            return True
        heap = message.get("heap_used_bytes")
        heap_limit = self.memory_limit_mb * 1024 * 1024 * _HEAP_RECYCLE_FRACTION
        return isinstance(heap, int) and heap > heap_limit

    def _request(
        self, message: dict[str, Any], timeout_s: float = _REQUEST_TIMEOUT_S
    ) -> dict[str, Any]:
        """Send a short request (condition, compile, exports) and return its answer."""
        op = message["op"]
        with self._slots.checkout() as process:
            request_id = next(self._ids)
            try:
                process.send({"id": request_id, **message})
                return _collect(process, request_id, time.monotonic() + timeout_s, [], None)
            except ChannelTimeout as exc:
                self._slots.replace(process)
                raise WorkerError(f"node worker did not answer {op!r} in {timeout_s:g}s") from exc
            except ChannelClosed as exc:
                tail = process.output_tail()
                self._slots.replace(process)
                raise WorkerError(f"node worker exited during {op!r}: {tail}") from exc

    def evaluate_condition(
        self, expression: str, state: dict[str, Any], upstream_step_id: str | None = None
    ) -> bool:
        """Evaluate an edge ``js_expression`` against ``state``; ConditionError if it throws."""
        answer = self._request(
            {
                "op": "condition",
                "expression": expression,
                "state": state,
                "upstream_step_id": upstream_step_id,
                "timeout_ms": self.condition_timeout_ms,
            }
        )
        if answer.get("type") != "result":
            error = answer.get("error") or {}
            raise ConditionError(str(error.get("message") or wire.error_text(answer)))
        return bool(answer.get("value"))

    def compile(self, body: str, adaptor: AdaptorRef) -> CompileResult:
        """Compile a job body for ``adaptor`` (validation at save time)."""
        message = {"op": "compile", "body": body, "adaptor": adaptor.to_wire()}
        return wire.compile_result(self._request(message))

    def adaptor_exports(self, adaptor: AdaptorRef) -> list[str]:
        """Names the adaptor module exports (the operations a job may call)."""
        answer = self._request({"op": "exports", "adaptor": adaptor.to_wire()})
        if answer.get("type") != "result":
            raise WorkerError(wire.error_text(answer))
        return [str(name) for name in answer.get("exports") or []]


def _collect(
    process: NodeProcess,
    request_id: int,
    deadline: float,
    logs: list[LogEntry],
    on_log: LogCallback | None,
    run_limit_s: float | None = None,
) -> dict[str, Any]:
    """Read messages for ``request_id`` until its answer, gathering log lines on the way.

    A ``started`` message resets the deadline to ``run_limit_s`` from now.
    """
    while True:
        message = process.read_message(deadline)
        if message.get("id") != request_id:
            continue  # left over from an earlier request; nobody waits for it
        kind = message.get("type")
        if kind == "started":
            if run_limit_s is not None:
                deadline = time.monotonic() + run_limit_s
            continue
        if kind != "log":
            return message
        entry = wire.log_entry(message)
        logs.append(entry)
        if on_log is not None:
            try:
                on_log(entry)
            except Exception:
                log.exception("log callback failed; the step goes on")


def _elapsed_ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 3)


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"
