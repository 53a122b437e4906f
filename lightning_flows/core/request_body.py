"""Refusing a request body without losing the connection."""

from __future__ import annotations

from starlette.types import Receive

DRAIN_FACTOR = 4  # bodies up to 4x the limit are read to the end after a 413


async def drain(receive: Receive, received: int, cap: int) -> None:
    """Read and drop the rest of a refused body (up to `cap` bytes in all): an answer
    sent before the whole request was read makes the server close the connection."""
    while received <= cap:
        message = await receive()
        if message["type"] != "http.request":
            return
        received += len(message.get("body", b""))
        if not message.get("more_body", False):
            return
