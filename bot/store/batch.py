"""Write-behind batching for timeline lines: busy channels produce many small rows.

Callers await their own row: `add` returns only once the batch holding it has
committed (True) or found it already recorded (False), so nothing is reported as
recorded before it is. Rows go in with INSERT ... ON CONFLICT (source_key) DO
NOTHING, one transaction per batch, instead of one ORM session per message.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite

from bot.store.repo import Store
from bot.store.tables import TimelineEntry

log = logging.getLogger(__name__)

MAX_BATCH = 500
COLUMNS = [c.name for c in TimelineEntry.__table__.columns if c.name != "id"]  # type: ignore[attr-defined]


class BatchWriter:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._pending: list[tuple[dict[str, Any], asyncio.Future[bool]]] = []
        self._task: asyncio.Task[None] | None = None

    async def add(self, entry: TimelineEntry) -> bool:
        values = {c: getattr(entry, c) for c in COLUMNS}
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append((values, fut))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain())
        return await fut

    async def _drain(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            try:
                results = await self._write([v for v, _ in batch])
            except Exception as e:  # each waiting caller sees the failure
                log.exception("timeline batch of %d failed", len(batch))
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(e)
                continue
            for (_, fut), inserted in zip(batch, results, strict=True):
                if not fut.done():
                    fut.set_result(inserted)

    async def _write(self, rows: list[dict[str, Any]]) -> list[bool]:
        engine = self.store.engine
        dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
        table = TimelineEntry.__table__  # type: ignore[attr-defined]
        stmt = (
            dialect.insert(table)
            .on_conflict_do_nothing(index_elements=["source_key"])
            .returning(table.c.source_key)
        )
        async with engine.begin() as conn:
            # One multi-row statement; RETURNING names the rows that were new.
            res = await conn.execute(stmt, rows)
            new = {r[0] for r in res.all()}
        results = []
        for row in rows:
            key = row["source_key"]
            results.append(key in new)
            new.discard(key)  # a key twice in one batch: only its first row is new
        return results
