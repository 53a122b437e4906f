"""The project's outgoing alert webhook: a JSON POST per alert, for chat tools.

Posts run on a small pool of their own threads, so a slow or failing endpoint never
holds up the mails or the runs. Each post is tried `LIGHTNING_ALERT_WEBHOOK_ATTEMPTS`
times (3) with exponential backoff (1 s, 2 s, ...) on a connection error, a timeout, a
429 or a 5xx; the failure is then logged (with the host, never the URL: it may hold a
token) and the alert dropped.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any
from urllib.parse import urlsplit

import httpx

from lightning_flows import __version__
from lightning_flows.core.config import get_settings

log = logging.getLogger(__name__)
BACKOFF_SECONDS = 1.0
_poster = ThreadPoolExecutor(max_workers=2, thread_name_prefix="alert-webhook")
_pending: set[Future[bool]] = set()
_lock = threading.Lock()


def send(url: str, payload: dict[str, Any]) -> Future[bool]:
    """Queue one POST; the future says whether the endpoint accepted it."""
    future = _poster.submit(post_with_retries, url, payload)
    with _lock:
        _pending.add(future)
    future.add_done_callback(_forget)
    return future


def _forget(future: Future[bool]) -> None:
    with _lock:
        _pending.discard(future)


def wait_for_pending(timeout: float = 30.0) -> None:
    """Block until every post queued so far is done (tests, shutdown)."""
    with _lock:
        queued = set(_pending)
    wait(queued, timeout=timeout)


def post_with_retries(url: str, payload: dict[str, Any]) -> bool:
    settings = get_settings()
    host = urlsplit(url).hostname or "?"
    attempts = settings.alert_webhook_attempts
    for attempt in range(1, attempts + 1):
        try:
            response = httpx.post(
                url,
                json=payload,
                timeout=settings.alert_webhook_timeout_seconds,
                headers={"user-agent": f"lightning-flows/{__version__} (failure alerts)"},
            )
            if response.status_code < 300:
                return True
            problem = f"HTTP {response.status_code}"
            if response.status_code < 500 and response.status_code != 429:
                log.warning("alert webhook at %s refused the alert (%s)", host, problem)
                return False
        except httpx.HTTPError as exc:
            problem = type(exc).__name__
        if attempt < attempts:
            log.info("alert webhook at %s: %s; retrying (attempt %d)", host, problem, attempt)
            time.sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))
    log.warning("alert webhook at %s failed %d times (%s); alert dropped", host, attempts, problem)
    return False
