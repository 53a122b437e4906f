"""@openfn/language-http against a local HTTP server, with credentials from configuration."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from adaptor_tasks import AdaptorRef, ExitReason, NodePool, StepRequest


class RecordingServer(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict[str, Any]] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: RecordingServer

    def _reply(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        self.server.requests.append(
            {
                "method": self.command,
                "path": self.path,
                "auth": self.headers.get("Authorization"),
                "body": body,
            }
        )
        if self.path.startswith("/missing"):
            status, payload = 404, {"error": "not found"}
        else:
            status, payload = (
                200,
                {"method": self.command, "path": self.path, "echo": body and json.loads(body)},
            )
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = _reply
    do_POST = _reply

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[RecordingServer]:
    httpd = RecordingServer()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


def credentials(server: RecordingServer) -> dict[str, str]:
    return {"baseUrl": server.base_url, "username": "amina", "password": "s3cret-pass"}


def test_get_with_basic_auth(pool: NodePool, http: AdaptorRef, server: RecordingServer) -> None:
    request = StepRequest(
        step_id="fetch",
        body="get('/patients', { query: { page: 2 } });",
        adaptor=http,
        state={"data": {}, "configuration": credentials(server)},
    )
    result = pool.run_step(request)
    assert result.exit_reason is ExitReason.SUCCESS, result
    assert result.state is not None
    assert result.state["data"]["path"] == "/patients?page=2"
    assert "configuration" not in result.state and "response" not in result.state
    (seen,) = server.requests
    assert seen["method"] == "GET"
    assert seen["auth"] == "Basic " + base64.b64encode(b"amina:s3cret-pass").decode()


def test_post_with_lazy_state_body(
    pool: NodePool, http: AdaptorRef, server: RecordingServer
) -> None:
    request = StepRequest(
        step_id="send",
        body="post('/cases', $.data.case);\nfn(s => ({ ...s, data: { sent: s.data.echo } }));",
        adaptor=http,
        state={"data": {"case": {"child": "x", "age": 7}}, "configuration": credentials(server)},
    )
    result = pool.run_step(request)
    assert result.exit_reason is ExitReason.SUCCESS, result
    assert result.state is not None
    assert result.state["data"] == {"sent": {"child": "x", "age": 7}}
    (seen,) = server.requests
    assert seen["method"] == "POST"
    assert json.loads(seen["body"]) == {"child": "x", "age": 7}
    assert seen["auth"].startswith("Basic ")


def test_an_http_error_fails_the_step(
    pool: NodePool, http: AdaptorRef, server: RecordingServer
) -> None:
    request = StepRequest(
        step_id="fetch",
        body="get('/missing');",
        adaptor=http,
        state={"data": {}, "configuration": credentials(server)},
    )
    result = pool.run_step(request)
    assert result.exit_reason is ExitReason.FAIL
    assert result.state is not None
    assert "fetch" in result.state["errors"]
    assert "404" in (result.error_message or "")
    assert any(entry.source in {"ADA", "R/T"} for entry in result.logs)


def test_promise_chain_on_an_http_operation(
    pool: NodePool, http: AdaptorRef, server: RecordingServer
) -> None:
    request = StepRequest(
        step_id="fetch",
        body="get('/a').then(state => ({ ...state, data: { got: state.data.path } }));",
        adaptor=http,
        state={"data": {}, "configuration": credentials(server)},
    )
    result = pool.run_step(request)
    assert result.exit_reason is ExitReason.SUCCESS, result
    assert result.state is not None
    assert result.state["data"] == {"got": "/a"}
