"""The CLI's side of provisioning: OpenFn-style configuration and an HTTP client.

Configuration is read like OpenFn's CLI reads it: a JSON file with
`endpoint`, `apiKey`, `specPath`, `statePath`, overridden by the environment
variables `OPENFN_ENDPOINT` and `OPENFN_API_KEY`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from lightning_flows.provisioning.wire import from_payload

DEFAULT_ENDPOINT = "http://127.0.0.1:4000"


class ClientError(Exception):
    """The server refused a request, or could not be reached; `str()` says why."""


@dataclass
class DeployConfig:
    endpoint: str
    api_key: str | None
    spec_path: Path
    state_path: Path


def load_config(path: Path | None) -> DeployConfig:
    """Settings from `path` (if given), then the environment."""
    values: dict[str, Any] = {}
    if path is not None:
        try:
            values = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ClientError(f"Cannot read the config file {path}: {exc}") from exc
        if not isinstance(values, dict):
            raise ClientError(f"The config file {path} must hold a JSON object.")
    return DeployConfig(
        endpoint=(
            os.environ.get("OPENFN_ENDPOINT") or values.get("endpoint") or DEFAULT_ENDPOINT
        ).rstrip("/"),
        api_key=os.environ.get("OPENFN_API_KEY") or values.get("apiKey"),
        spec_path=Path(values.get("specPath") or "project.yaml"),
        state_path=Path(values.get("statePath") or ".state.json"),
    )


class ApiClient:
    """Calls the provision and sync API with a personal access token."""

    def __init__(
        self, config: DeployConfig, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        if not config.api_key:
            raise ClientError(
                "No API key: set OPENFN_API_KEY or `apiKey` in the config file "
                "(create one with `lightning-flows tokens create`)."
            )
        self.endpoint = config.endpoint
        self._http = httpx.Client(
            base_url=config.endpoint,
            headers={"Authorization": f"Bearer {config.api_key}"},
            timeout=120.0,
            transport=transport,
        )

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._http.close()

    def preview(self, document: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", "/api/provision/preview", json=document)

    def provision(self, document: dict[str, Any]) -> dict[str, Any]:
        """Provision `document`; the new state, keyed like `document`."""
        answer = self._call("POST", "/api/provision", json=document)
        return from_payload(_data(answer), like=document)

    def state(self, project_id: str, like: dict[str, Any] | None = None) -> dict[str, Any]:
        """The project's state, keyed like `like` (an older state) where it can be."""
        return from_payload(_data(self._call("GET", f"/api/provision/{project_id}")), like=like)

    def run_test_cases(self, project_id: str) -> dict[str, Any]:
        """Run the project's test cases on the saved workflows (`lightning-flows test`)."""
        return self._call("POST", f"/api/projects/{project_id}/test_cases/run")

    def sync(self, project_id: str) -> dict[str, Any]:
        return self._call("POST", f"/api/projects/{project_id}/sync")

    def _call(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._http.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise ClientError(f"Cannot reach {self.endpoint}: {exc}") from exc
        try:
            body = response.json()
        except ValueError:
            body = {"detail": response.text.strip()[:500]}
        if response.is_success:
            return body if isinstance(body, dict) else {"data": body}
        raise ClientError(_error_text(response.status_code, body))


def _data(answer: dict[str, Any]) -> dict[str, Any]:
    """The project inside Lightning's `{"data": ...}` envelope."""
    data = answer.get("data")
    if not isinstance(data, dict):
        raise ClientError("The server's answer has no project in `data`.")
    return data


def _error_text(status: int, body: Any) -> str:
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, list):  # FastAPI's own validation errors
        detail = "; ".join(str(d.get("msg", d)) for d in detail)
    lines = [f"{detail or 'Request failed'} (HTTP {status})"]
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and len(errors) > 1:
        lines += [f"  {e.get('loc')}: {e.get('message')}" for e in errors if isinstance(e, dict)]
    return "\n".join(lines)
