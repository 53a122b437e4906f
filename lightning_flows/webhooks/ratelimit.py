"""Per-trigger rate limiting: a token bucket per trigger in this process."""

from __future__ import annotations

import math
import threading
import time
import uuid


class TriggerRateLimiter:
    """Allows `rate` requests per second per trigger, with bursts up to `burst`."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = max(burst, 1)
        self._buckets: dict[uuid.UUID, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def acquire(self, trigger_id: uuid.UUID) -> float:
        """0 when the request may pass; otherwise seconds until it would."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(trigger_id, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._buckets[trigger_id] = (tokens - 1, now)
                return 0.0
            self._buckets[trigger_id] = (tokens, now)
            return (1 - tokens) / self.rate

    @staticmethod
    def retry_after(wait: float) -> str:
        return str(max(1, math.ceil(wait)))
