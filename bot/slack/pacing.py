"""Keep to about one message per second per channel, in order.

Slack allows short bursts but throttles a channel that keeps receiving more than
about one message a second; slack-sdk does not pace. A token bucket per channel
lets a declaration's few posts go at once and spaces out anything longer; the
per-channel lock keeps messages in the order they were sent.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


@dataclass
class _Bucket:
    tokens: float
    stamp: float
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Pacer:
    def __init__(
        self,
        per_second: float = 1.0,
        burst: int = 4,
        now: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = asyncio.sleep,
    ) -> None:
        self.rate = per_second
        self.burst = burst
        self._now = now
        self._sleep = sleep
        self._buckets: dict[str, _Bucket] = {}

    @asynccontextmanager
    async def slot(self, channel: str, *, bypass: bool = False) -> AsyncIterator[None]:
        """Hold the channel's turn while one message is sent."""
        if bypass:
            yield
            return
        bucket = self._buckets.get(channel)
        if bucket is None:
            bucket = self._buckets[channel] = _Bucket(float(self.burst), self._now())
        async with bucket.lock:
            now = self._now()
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
            bucket.stamp = now
            if bucket.tokens < 1:
                wait = (1 - bucket.tokens) / self.rate
                await self._sleep(wait)  # type: ignore[misc]
                bucket.tokens, bucket.stamp = 1.0, self._now()
            bucket.tokens -= 1
            yield
