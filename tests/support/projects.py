"""Projects as code in tests: the example spec, provisioning calls, a live API server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi.testclient import TestClient

from lightning_flows.provisioning.wire import from_payload

EXAMPLE_PATH = Path(__file__).resolve().parents[2] / "docs" / "examples" / "project.yaml"
EXAMPLE = EXAMPLE_PATH.read_text()
YAML = {"Content-Type": "application/yaml"}


def provision_yaml(
    client: TestClient, auth: dict[str, str], text: str = EXAMPLE, **params: Any
) -> httpx.Response:
    return client.post("/api/provision", content=text, headers={**auth, **YAML}, params=params)


def provision_json(client: TestClient, auth: dict[str, str], doc: dict[str, Any]) -> httpx.Response:
    return client.post("/api/provision", json=doc, headers=auth)


def state_of(response: httpx.Response, like: dict[str, Any] | None = None) -> dict[str, Any]:
    """The keyed project state inside a provision answer (`{"data": project}`, lists)."""
    return from_payload(response.json()["data"], like=like)


def only_workflow(state: dict[str, Any]) -> dict[str, Any]:
    (workflow,) = state["workflows"].values()
    return workflow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def live_server() -> Iterator[str]:
    """The whole API served by uvicorn on 127.0.0.1 in a thread; yields its base URL."""
    from lightning_flows.api.app import create_app

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the API server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
