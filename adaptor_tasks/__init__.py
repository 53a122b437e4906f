"""Execute OpenFn job steps with the real @openfn/runtime and adaptors, from Python.

``NodePool`` runs steps, edge conditions and compiles in long-lived Node
processes; ``AdaptorRepository`` resolves and installs adaptor packages.
"""

from adaptor_tasks.errors import (
    AdaptorInstallError,
    AdaptorNotFoundError,
    AdaptorTasksError,
    ConditionError,
    PoolClosedError,
    WorkerError,
)
from adaptor_tasks.models import (
    AdaptorRef,
    CompileResult,
    ExitReason,
    LogEntry,
    StepRequest,
    StepResult,
)
from adaptor_tasks.pool import NodePool
from adaptor_tasks.repository import AdaptorRepository
from adaptor_tasks.specifiers import AdaptorSpec, parse_specifier

__all__ = [
    "AdaptorInstallError",
    "AdaptorNotFoundError",
    "AdaptorRef",
    "AdaptorRepository",
    "AdaptorSpec",
    "AdaptorTasksError",
    "CompileResult",
    "ConditionError",
    "ExitReason",
    "LogEntry",
    "NodePool",
    "PoolClosedError",
    "StepRequest",
    "StepResult",
    "WorkerError",
    "parse_specifier",
]
