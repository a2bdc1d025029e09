"""Group commit: writes that arrive while one is being committed share the next commit.

Each delivery ends with a small write (its row done, its channel's pace). Sixteen
deliveries ending together would otherwise be sixteen transactions in a row, and on
SQLite each waits for the one writer in turn. Here the first write goes at once and the
ones that arrive meanwhile wait for it, then go together: no delay when idle, fewer
commits under load. A caller returns only once its own write is committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


class GroupCommit(Generic[T]):
    def __init__(self, write: Callable[[Sequence[T]], Awaitable[None]], *, most: int = 64) -> None:
        self._write = write
        self._most = most
        self._queue: list[tuple[T, asyncio.Future[None]]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def __call__(self, item: T) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((item, done))
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush())
        await done

    async def _flush(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[: self._most], self._queue[self._most :]
            try:
                await self._write([item for item, _ in batch])
            except Exception:
                # One bad write must not fail the others: each again on its own.
                for item, done in batch:
                    try:
                        await self._write([item])
                    except Exception as e:
                        done.set_exception(e)
                    else:
                        done.set_result(None)
            else:
                for _, done in batch:
                    done.set_result(None)
