"""A project as files: the spec YAML, the state JSON and one `.js` file per job body.

`lightning-flows pull` and git sync write this layout; `deploy`, `run` and
git sync read it back (a body `{path: ./workflows/wf/job.js}` is read from
the file, relative to the spec).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from lightning_flows.core.errors import InvalidInput
from lightning_flows.provisioning.state import spec_from_state
from lightning_flows.provisioning.yamlio import dump_yaml, load_yaml

SPEC_FILE = "project.yaml"
STATE_FILE = ".state.json"
BODIES_DIR = "workflows"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _safe(key: str) -> str:
    """A key as a file name: no separators, no leading dot."""
    return _UNSAFE.sub("_", key).lstrip(".") or "_"


def render(state: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """The spec YAML (bodies as `{path: ...}`) and `{relative path: body}` for a state."""
    spec = spec_from_state(state)
    bodies: dict[str, str] = {}
    for wf_key, wf in spec["workflows"].items():
        used: set[str] = set()
        for job_key, job in wf["jobs"].items():
            name, n = _safe(job_key), 1
            while name.lower() in used:
                n += 1
                name = f"{_safe(job_key)}-{n}"
            used.add(name.lower())
            relative = f"{BODIES_DIR}/{_safe(wf_key)}/{name}.js"
            bodies[relative] = job["body"]
            job["body"] = {"path": f"./{relative}"}
    return dump_yaml(spec), bodies


def state_text(state: dict[str, Any]) -> str:
    return json.dumps(state, indent=2, ensure_ascii=False) + "\n"


def write(directory: Path, state: dict[str, Any], spec_name: str = SPEC_FILE) -> list[Path]:
    """Write the spec and job files under `directory`; returns the paths written."""
    spec_text, bodies = render(state)
    written = []
    for relative, body in bodies.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
        written.append(path)
    spec_path = directory / spec_name
    spec_path.write_text(spec_text, encoding="utf-8")
    return [spec_path, *written]


def read_spec(path: Path, *, confine: bool = False) -> dict[str, Any]:
    """A spec file with every `{path: ...}` body replaced by the file's text.

    With `confine`, body files must lie inside the spec's directory (git sync
    reads repositories it does not trust).
    """
    try:
        raw = load_yaml(path.read_bytes())
    except OSError as exc:
        raise InvalidInput(f"Cannot read the spec {path}: {exc.strerror or exc}") from exc
    base = path.resolve().parent
    workflows = raw.get("workflows")
    for wf_key, wf in workflows.items() if isinstance(workflows, dict) else []:
        jobs = wf.get("jobs") if isinstance(wf, dict) else None
        for job_key, job in jobs.items() if isinstance(jobs, dict) else []:
            body = job.get("body") if isinstance(job, dict) else None
            if isinstance(body, dict) and isinstance(body.get("path"), str):
                loc = f"workflows.{wf_key}.jobs.{job_key}.body"
                job["body"] = _read_body(base, body["path"], loc, confine)
    return raw


def _read_body(base: Path, relative: str, loc: str, confine: bool) -> str:
    target = (base / relative).resolve()
    if confine and not target.is_relative_to(base):
        raise InvalidInput(f"{loc}: '{relative}' is outside the project directory")
    try:
        return target.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{loc}: cannot read '{relative}': {exc}") from exc


def read_state(path: Path) -> dict[str, Any] | None:
    """The state file, or None when there is none yet."""
    if not path.exists():
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"Cannot read the state file {path}: {exc}") from exc
    if not isinstance(value, dict):
        raise InvalidInput(f"The state file {path} must hold a JSON object.")
    return value
