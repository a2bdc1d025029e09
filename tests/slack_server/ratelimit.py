"""Token buckets for Slack's per-channel message rate (about 1/s with short bursts)."""

from __future__ import annotations

import math
from collections.abc import Callable


class PerKeyBucket:
    def __init__(self, *, rate: float, burst: int, clock: Callable[[], float]) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._state: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill)

    def take(self, key: str) -> int:
        """Spend one token for `key`; return 0 if allowed, else seconds to wait (Retry-After)."""
        now = self.clock()
        tokens, last = self._state.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            self._state[key] = (tokens - 1.0, now)
            return 0
        self._state[key] = (tokens, now)
        return max(1, math.ceil((1.0 - tokens) / self.rate))
