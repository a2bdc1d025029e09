"""Write-behind batching: many small rows, one transaction per batch.

Callers await their own row: `add` returns only once the batch holding it has
committed, so nothing is reported as stored before it is. Busy channels produce many
timeline lines, and a burst of declarations many incident rows that must be committed
before Slack gets its answer: one statement per batch instead of one ORM session each.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.repo import Store
from bot.store.tables import Incident, TimelineEntry

log = logging.getLogger(__name__)

MAX_BATCH = 500
R = TypeVar("R")
Rows = list[dict[str, Any]]


def columns(table: Any) -> list[str]:
    return [c.name for c in table.__table__.columns if c.name != "id"]


class Batcher(Generic[R]):
    """Queue rows; the first caller of a quiet moment writes every row queued meanwhile."""

    def __init__(
        self, store: Store, write: Callable[[AsyncConnection, Rows], Awaitable[list[R]]]
    ) -> None:
        self.store = store
        self._write = write
        self._pending: list[tuple[dict[str, Any], asyncio.Future[R]]] = []
        self._task: asyncio.Task[None] | None = None

    async def add(self, values: dict[str, Any]) -> R:
        fut: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((values, fut))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain())
        return await fut

    async def _drain(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            try:
                async with self.store.engine.begin() as conn:
                    results = await self._write(conn, [v for v, _ in batch])
            except Exception as e:  # each waiting caller sees the failure
                log.exception("batch of %d rows failed", len(batch))
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(e)
                continue
            for (_, fut), result in zip(batch, results, strict=True):
                if not fut.done():
                    fut.set_result(result)


TIMELINE_COLUMNS = columns(TimelineEntry)
INCIDENT_COLUMNS = columns(Incident)


async def _timeline_rows(conn: AsyncConnection, rows: Rows) -> list[bool]:
    """INSERT … ON CONFLICT (source_key) DO NOTHING: True for the rows that were new."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    table = TimelineEntry.__table__  # type: ignore[attr-defined]
    stmt = (
        dialect.insert(table)
        .on_conflict_do_nothing(index_elements=["source_key"])
        .returning(table.c.source_key)
    )
    new = {r[0] for r in (await conn.execute(stmt, rows)).all()}
    results = []
    for row in rows:
        key = row["source_key"]
        results.append(key in new)
        new.discard(key)  # a key twice in one batch: only its first row is new
    return results


async def _incident_rows(conn: AsyncConnection, rows: Rows) -> list[tuple[int, bool]]:
    """Each row's incident id, in the order of the rows, and whether it is new. A row whose
    declaration_key is stored already (the same modal submitted twice) is skipped, ON
    CONFLICT DO NOTHING, and gets the stored incident's id: one duplicate never fails
    the other declarations of its batch."""
    table = Incident.__table__  # type: ignore[attr-defined]
    keyed = [r for r in rows if r["declaration_key"] is not None]
    plain = [r for r in rows if r["declaration_key"] is None]
    ids: list[int] = []
    if plain:
        stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        ids = [int(r[0]) for r in (await conn.execute(stmt, plain)).all()]
    new: dict[str, int] = {}
    stored: dict[str, int] = {}
    if keyed:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        upsert = (
            dialect.insert(table)
            .on_conflict_do_nothing(index_elements=["declaration_key"])
            .returning(table.c.declaration_key, table.c.id)
        )
        new = {k: int(i) for k, i in (await conn.execute(upsert, keyed)).all()}
        missing = {r["declaration_key"] for r in keyed} - new.keys()
        if missing:
            key = table.c.declaration_key
            found = await conn.execute(select(key, table.c.id).where(key.in_(missing)))
            stored = {k: int(i) for k, i in found.all()}
    results: list[tuple[int, bool]] = []
    plain_ids = iter(ids)
    for row in rows:
        k = row["declaration_key"]
        if k is None:
            results.append((next(plain_ids), True))
        elif k in new:  # a key twice in one batch: only its first row is new
            results.append((new.pop(k), True))
            stored[k] = results[-1][0]
        else:
            results.append((stored[k], False))
    return results


class BatchWriter:
    """Timeline lines; `add` says whether the line was new (False: recorded already)."""

    def __init__(self, store: Store) -> None:
        self._batcher: Batcher[bool] = Batcher(store, _timeline_rows)

    async def add(self, entry: TimelineEntry) -> bool:
        return await self._batcher.add({c: getattr(entry, c) for c in TIMELINE_COLUMNS})


class IncidentWriter:
    """Incident rows; `add` gives the incident its id and says whether it is new (False:
    its declaration_key was stored already, and the id is that incident's)."""

    def __init__(self, store: Store) -> None:
        self._batcher: Batcher[tuple[int, bool]] = Batcher(store, _incident_rows)

    async def add(self, incident: Incident) -> bool:
        values = {c: getattr(incident, c) for c in INCIDENT_COLUMNS}
        incident.id, new = await self._batcher.add(values)
        return new
