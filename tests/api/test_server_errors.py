"""A 500 says it is the server's fault and keeps the keep-alive connection open
(uvicorn used to reset it, so the client's next request failed)."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from fastapi import FastAPI


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(database_url: str) -> Iterator[int]:
    from lightning_flows.api.app import create_app

    app: FastAPI = create_app()

    @app.get("/api/test-only/boom", include_in_schema=False)
    def boom() -> None:
        raise RuntimeError("a bug")

    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical", lifespan="off")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not instance.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield port
    finally:
        instance.should_exit = True
        thread.join(timeout=10)


def test_a_500_keeps_the_connection_and_says_it_is_ours(server: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server, timeout=10)
    try:
        connection.request("GET", "/api/test-only/boom")
        failed = connection.getresponse()
        body = failed.read().decode()
        assert failed.status == 500
        assert "fault of the server, not of your request" in body and "reference" in body
        connection.request(
            "POST",
            "/api/projects",
            body=b'{"name": NaN}',
            headers={"content-type": "application/json"},
        )
        refused = connection.getresponse()
        refused.read()
        assert refused.status == 422
        connection.request("GET", "/health")  # the same socket: not reset
        healthy = connection.getresponse()
        healthy.read()
        assert healthy.status == 200
    finally:
        connection.close()


def _exchange(
    connection: http.client.HTTPConnection,
    method: str,
    url: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> int:
    connection.request(method, url, body=body or None, headers=headers or {})
    answer = connection.getresponse()
    answer.read()
    return answer.status


@pytest.mark.parametrize(
    ("method", "url", "body", "status"),
    [
        ("PATCH", "/api/projects/00000000-0000-0000-0000-000000000000", b"x" * 11_000_000, 413),
        ("POST", "/api/projects?x=%00", b'{"name": "a"}', 422),
        ("POST", "/api/projects", b'{"name": "a"}', 401),
        ("POST", "/i/no-such-trigger", b'{"a": 1}' * 1000, 404),
        ("POST", "/i/no-such-trigger", b"x" * 11_000_000, 404),
    ],
    ids=["api-413", "api-422-url", "api-401", "webhook-404", "webhook-404-big"],
)
def test_refusals_keep_the_connection(
    server: int, method: str, url: str, body: bytes, status: int
) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server, timeout=30)
    try:
        headers = {"content-type": "application/json"}
        assert _exchange(connection, method, url, body, headers) == status
        assert _exchange(connection, "GET", "/health") == 200  # the same socket
    finally:
        connection.close()
