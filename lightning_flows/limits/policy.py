"""Who may change a project's limits, and within what bounds."""

from __future__ import annotations

from typing import Any

from lightning_flows.accounts.models import User
from lightning_flows.core.config import get_settings
from lightning_flows.core.errors import Forbidden, InvalidInput
from lightning_flows.projects.models import Project

SUPERUSER_ONLY = ("run_limit_per_month", "max_concurrent_runs")


def instance_maxima() -> dict[str, float]:
    """The instance's per-run limits, which a project may lower but never raise."""
    settings = get_settings()
    return {
        "step_timeout_seconds": settings.step_timeout_seconds,
        "step_memory_limit_mb": settings.step_memory_limit_mb,
        "state_limit_bytes": settings.state_limit_bytes,
    }


def check_limit_changes(changes: dict[str, Any], actor: User) -> None:
    """Usage limits are a superuser's to set; per-run limits stay within the instance's."""
    fixed = [k for k in SUPERUSER_ONLY if k in changes]
    if fixed and not actor.is_superuser:
        raise Forbidden(f"Only a superuser can change {' and '.join(fixed)}.")
    for key, maximum in instance_maxima().items():
        value = changes.get(key)
        if value is not None and value > maximum:
            raise InvalidInput(
                f"{key} may be at most {maximum:g} (this instance's limit).",
                details=[{"loc": ["body", key], "msg": f"at most {maximum:g}"}],
            )


def effective_run_limits(project: Project) -> dict[str, dict[str, Any]]:
    """Each per-step limit that applies to the project's runs, and where it comes from."""
    limits: dict[str, dict[str, Any]] = {}
    for key, maximum in instance_maxima().items():
        own = getattr(project, key)
        if own is not None and own < maximum:
            limits[key] = {"value": own, "source": "project"}
        else:
            limits[key] = {"value": maximum, "source": "instance"}
    return limits
