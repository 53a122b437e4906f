"""The engine's layers point one way: execution knows nothing of Prefect, and nothing in
the domain contexts imports the engine's Prefect side."""

from __future__ import annotations

import ast
from pathlib import Path

import lightning_flows

ROOT = Path(lightning_flows.__file__).parent
EXECUTION = [
    "engine/execution.py",
    "engine/execution_plan.py",
    "engine/walker.py",
    "engine/steps.py",
    "engine/recording.py",
    "engine/context.py",
    "engine/lease.py",
    "engine/reporting.py",
    "engine/local.py",
]


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_execution_does_not_import_prefect() -> None:
    offenders = {
        rel: sorted(
            m for m in _imports(ROOT / rel) if m.split(".")[0] == "prefect" or ".prefect" in m
        )
        for rel in EXECUTION
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_domain_contexts_do_not_import_the_engine() -> None:
    domain = ["accounts", "projects", "workflows", "credentials", "runs", "core", "provisioning"]
    offenders = []
    for context in domain:
        for path in (ROOT / context).rglob("*.py"):
            for module in _imports(path):
                if module.startswith("lightning_flows.engine.prefect"):
                    offenders.append(f"{path.relative_to(ROOT)}: {module}")
    assert offenders == []
