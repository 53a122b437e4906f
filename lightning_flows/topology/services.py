"""deployments/services.yaml read for the topology: each service's command and environment.

That file is the one description of the hosts (compose and Kubernetes run the same
commands); here its `${NAME}` placeholders are filled in and, without network
namespaces, the compose host names are rewritten to 127.0.0.1 and this run's ports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
SERVICES_FILE = ROOT / "deployments" / "services.yaml"
ALL_INTERFACES = "0.0.0." + "0"  # what the services listen on inside their hosts
_PLACEHOLDER = re.compile(r"\$\{([A-Z0-9_]+)\}")


@dataclass(frozen=True)
class Service:
    """One kind of host: what it runs, on which port, with which environment."""

    name: str
    command: list[str] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)
    port: int | None = None
    health: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def load_services(path: Path = SERVICES_FILE) -> dict[str, Service]:
    """Every service of the file, the shared platform environment merged in."""
    doc = yaml.safe_load(path.read_text())
    platform = {k: str(v) for k, v in doc["platform_environment"].items()}
    services: dict[str, Service] = {}
    for name, spec in doc["services"].items():
        env = spec.get("environment") or {}
        environment = dict(platform) if env == "platform" else {k: str(v) for k, v in env.items()}
        known = {"command", "environment", "port", "health"}
        services[name] = Service(
            name=name,
            command=[str(a) for a in spec.get("command") or []],
            environment=environment,
            port=spec.get("port"),
            health=spec.get("health"),
            extra={k: v for k, v in spec.items() if k not in known},
        )
    return services


def fill(environment: dict[str, str], variables: dict[str, str]) -> dict[str, str]:
    """`${NAME}` replaced by `variables[NAME]` (a missing one is an error, as in compose)."""

    def one(match: re.Match[str]) -> str:
        if match.group(1) not in variables:
            raise KeyError(f"deployments/services.yaml needs {match.group(1)}")
        return variables[match.group(1)]

    return {k: _PLACEHOLDER.sub(one, v) for k, v in environment.items()}


def on_loopback(values: list[str], ports: dict[str, int]) -> list[str]:
    """Compose names and ports rewritten for processes side by side on 127.0.0.1:
    `postgres:5432` becomes `127.0.0.1:<this run's port>`, `--host 0.0.0.0` 127.0.0.1."""
    defaults = {name: service.port for name, service in load_services().items()}
    out = []
    for value in values:
        for name, port in ports.items():
            default = defaults.get(name)
            if default is None:  # a worker host: nobody connects to it
                continue
            value = value.replace(f"@{name}:{default}", f"@127.0.0.1:{port}")
            value = value.replace(f"//{name}:{default}", f"//127.0.0.1:{port}")
        out.append("127.0.0.1" if value == ALL_INTERFACES else value)
    return out
