"""The outbox's queries: enqueue in the caller's transaction, claim, finish, recover.

Claiming follows the scheduler's rule (a conditional UPDATE, so a row is claimed by
one worker only) plus one of its own: a conversation's rows go one at a time in id
order. A row is claimable only while no earlier row of its conversation is pending or
claimed, and while the conversation's pace allows a post. Two workers that pick the
same head row race on the UPDATE; the loser claims nothing.

On PostgreSQL ids come from a sequence when a row is written, not when it commits: two
transactions writing to one conversation at the same instant may become visible out of
id order, and the later one's row may go first. Edits are immune (their content is made
at delivery), and two changes that close together have no order a reader could tell.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import exists, func, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.store.repo import Store
from bot.store.tables import ConversationPace, OutboxRow


class OutboxState(StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    DONE = "done"
    FAILED = "failed"


OPEN = (OutboxState.PENDING, OutboxState.CLAIMED)


@dataclass(frozen=True)
class Finished:
    """A delivered row to mark done (see OutboxStore.finish)."""

    row_id: int
    now: datetime
    result: dict[str, Any] | None
    paced: tuple[str, Spend] | None = None
    also: Callable[[AsyncSession], Awaitable[None]] | None = None


async def enqueue(session: AsyncSession, row: OutboxRow) -> OutboxRow | None:
    """Add `row` in the caller's transaction; None when a row with its key exists (a
    step run again after a crash). A pending row with the same `coalesce` takes the new
    payload instead: a burst of edits of one message is one edit of the last state."""
    if row.coalesce is not None:
        res = await session.exec(
            select(OutboxRow).where(
                OutboxRow.coalesce == row.coalesce, OutboxRow.state == OutboxState.PENDING
            )
        )
        waiting = res.first()
        if waiting is not None:
            waiting.payload = row.payload
            session.add(waiting)
            await session.flush()
            return waiting
    # ON CONFLICT DO NOTHING rather than a savepoint: the same key written by two
    # transactions at once is one row, and the caller's change is never undone for it
    # (SQLite's driver makes savepoints unsafe besides).
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    values = row.model_dump(exclude={"id"})
    inserted: Any = await session.exec(
        insert(OutboxRow)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(col(OutboxRow.id))
    )
    new_id = inserted.scalar_one_or_none()
    if new_id is None:
        return None
    row.id = new_id
    return row


class OutboxStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def claim(self, worker: str, now: datetime, limit: int) -> list[OutboxRow]:
        """Claim up to `limit` rows that may go now: at most one per conversation.

        One UPDATE ... RETURNING: a statement that writes first never has to upgrade a
        read lock (which SQLite refuses, rather than waits for, under a concurrent
        writer), and it is one round trip for the whole batch. A second worker running
        the same statement at once picks the same head rows and, re-checking `pending`
        once the first commits, claims none of them."""
        row = aliased(OutboxRow)
        earlier = aliased(OutboxRow)
        blocked = exists().where(
            col(earlier.conversation) == col(row.conversation),
            col(earlier.id) < col(row.id),
            col(earlier.state).in_(OPEN),
        )
        paced = exists().where(
            col(ConversationPace.conversation) == col(row.conversation),
            col(ConversationPace.next_at) > now,
        )
        candidates = (
            select(row.id)
            .where(
                row.state == OutboxState.PENDING,
                col(row.due_at).is_(None) | (col(row.due_at) <= now),
                ~blocked,
                ~paced,
            )
            # Most severe first, then the longest waiting (ids grow with time).
            .order_by(col(row.priority), col(row.id))
            .limit(limit)
        )
        async with self.store.session() as s:
            res: Any = await s.exec(
                update(OutboxRow)
                .where(
                    col(OutboxRow.id).in_(candidates),
                    col(OutboxRow.state) == OutboxState.PENDING,
                )
                .values(
                    state=OutboxState.CLAIMED,
                    claimed_by=worker,
                    claimed_at=now,
                    first_claimed_at=func.coalesce(col(OutboxRow.first_claimed_at), now),
                    attempts=col(OutboxRow.attempts) + 1,
                )
                .returning(OutboxRow)
            )
            claimed = list(res.scalars().all())
            await s.commit()
            return sorted(claimed, key=lambda r: (r.priority, r.id))

    async def finish(
        self,
        row_id: int,
        now: datetime,
        result: dict[str, Any] | None,
        *,
        paced: tuple[str, Spend] | None = None,
        also: Callable[[AsyncSession], Awaitable[None]] | None = None,
    ) -> None:
        """Mark a delivered row done, and (for a post: `paced` is its conversation and how
        a post spends its pace) the conversation's new pace; `also` writes what follows
        from the delivery (a post's ts on its incident) in the same transaction, so a
        crash never keeps one without the other."""
        await self.finish_many([Finished(row_id, now, result, paced, also)])

    async def finish_many(self, rows: Sequence[Finished]) -> None:
        """`finish` for several rows in one transaction: one commit for a handful of
        deliveries (on SQLite writes take turns, and each commit is a turn)."""
        async with self.store.session() as s:
            for f in rows:
                # Write first: a SQLite transaction that reads, then writes, can fail to
                # upgrade its lock under load instead of waiting for it.
                await s.exec(
                    update(OutboxRow)
                    .where(col(OutboxRow.id) == f.row_id)
                    .values(state=OutboxState.DONE, finished_at=f.now, result=f.result, error=None)
                )
                if f.paced is not None:
                    await _spend_pace(s, *f.paced, f.now)
                if f.also is not None:
                    await f.also(s)
            await s.commit()

    async def retry(self, row_id: int, at: datetime, error: str) -> None:
        """Back to pending, due again at `at` (a transient error: 429, 5xx, timeout)."""
        async with self.store.session() as s:
            await s.exec(
                update(OutboxRow)
                .where(col(OutboxRow.id) == row_id)
                .values(state=OutboxState.PENDING, due_at=at, claimed_by=None, error=error)
            )
            await s.commit()

    async def fail(self, row_id: int, now: datetime, error: str) -> None:
        """Given up (a permanent error, or too many attempts): kept, with its reason, and
        no longer holding up its conversation."""
        async with self.store.session() as s:
            await s.exec(
                update(OutboxRow)
                .where(col(OutboxRow.id) == row_id)
                .values(state=OutboxState.FAILED, finished_at=now, error=error)
            )
            await s.commit()

    async def recover(self, stale_before: datetime, keep: Sequence[int] = ()) -> int:
        """Hand back claims older than the lease (their process died while delivering),
        except the rows this process is delivering right now."""
        dead = (col(OutboxRow.state) == OutboxState.CLAIMED) & (
            col(OutboxRow.claimed_at) < stale_before
        )
        if keep:
            dead = dead & col(OutboxRow.id).not_in(list(keep))
        async with self.store.session() as s:
            res = await s.exec(
                update(OutboxRow).where(dead).values(state=OutboxState.PENDING, claimed_by=None)
            )
            await s.commit()
            return int(res.rowcount or 0)

    async def result_of(self, key: str) -> dict[str, Any] | None:
        """What a delivered row gave back (a post's ts), by key; None if not delivered."""
        async with self.store.session() as s:
            res = await s.exec(
                select(OutboxRow.result).where(
                    OutboxRow.key == key, OutboxRow.state == OutboxState.DONE
                )
            )
            found = res.first()
            return dict(found) if found is not None else None

    async def next_due(self) -> datetime | None:
        """When a pending row next falls due (for the worker's wake-up)."""
        async with self.store.session() as s:
            res = await s.exec(
                select(func.min(OutboxRow.due_at)).where(OutboxRow.state == OutboxState.PENDING)
            )
            return res.first()

    async def backlog(self, now: datetime, overdue: timedelta) -> tuple[int, int]:
        """(pending rows, those written longer than `overdue` ago): for health and metrics."""
        async with self.store.session() as s:
            pending = (
                await s.exec(
                    select(func.count())
                    .select_from(OutboxRow)
                    .where(OutboxRow.state == OutboxState.PENDING)
                )
            ).one()
            late = (
                await s.exec(
                    select(func.count())
                    .select_from(OutboxRow)
                    .where(
                        OutboxRow.state == OutboxState.PENDING,
                        col(OutboxRow.created_at) < now - overdue,
                    )
                )
            ).one()
            return int(pending), int(late)

    async def rows(self, incident_id: int | None = None) -> Sequence[OutboxRow]:
        """Every row (of an incident), in id order: for tests, export and the operator."""
        async with self.store.session() as s:
            q = select(OutboxRow).order_by(col(OutboxRow.id))
            if incident_id is not None:
                q = q.where(OutboxRow.incident_id == incident_id)
            return (await s.exec(q)).all()


# How one post changes a conversation's pace: (tokens, stamp, now) -> (tokens left,
# stamp, when the next post may go or None). bot/deliverer.py's Pace.spend.
Spend = Callable[[float | None, datetime | None, datetime], tuple[float, datetime, datetime | None]]


async def _spend_pace(s: AsyncSession, conversation: str, spend: Spend, now: datetime) -> None:
    # One post in flight per conversation: nobody else writes this row meanwhile.
    pace = await s.get(ConversationPace, conversation)
    tokens, stamp, next_at = spend(pace.tokens if pace else None, pace.stamp if pace else None, now)
    if pace is None:
        pace = ConversationPace(conversation=conversation, tokens=tokens, stamp=stamp)
    pace.tokens, pace.stamp, pace.next_at = tokens, stamp, next_at
    s.add(pace)
