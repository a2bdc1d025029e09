"""What the self-check and /metrics read from the store: is the database there, and is
the work that was due getting done? (Read-only, cheap: indexed counts.)"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from bot.store.outbox import OutboxState
from bot.store.repo import Store
from bot.store.tables import DueJob, JobState, OutboxRow

PENDING, CLAIMED = JobState.PENDING, JobState.CLAIMED


async def ping(engine: AsyncEngine) -> None:
    """Raise if the database cannot be reached (or refuses these credentials)."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


@dataclass(frozen=True)
class Backlog:
    pending: int  # due rows waiting, due or not yet
    due: int  # pending rows whose time has come
    overdue: int  # pending rows due longer ago than the threshold
    stale_claims: int  # claimed rows older than the lease: their process is gone or stuck
    oldest_due: datetime | None  # the most overdue pending row's due time
    # The outbox: posts, DMs, invites waiting to be delivered.
    outbox_pending: int = 0
    outbox_overdue: int = 0  # written longer ago than the threshold and still not sent
    outbox_stale_claims: int = 0  # claimed by a delivery that outlived its lease


async def backlog(
    store: Store, now: datetime, *, overdue_before: datetime, stale_before: datetime
) -> Backlog:
    pending = col(DueJob.state) == PENDING
    async with store.session() as s:
        counts = (
            await s.exec(
                select(
                    func.count(),
                    func.count().filter(col(DueJob.due_at) <= now),
                    func.count().filter(col(DueJob.due_at) < overdue_before),
                    func.min(DueJob.due_at),
                ).where(pending)
            )
        ).one()
        stale = (
            await s.exec(
                select(func.count()).where(
                    col(DueJob.state) == CLAIMED, col(DueJob.claimed_at) < stale_before
                )
            )
        ).one()
        waiting = col(OutboxRow.state) == OutboxState.PENDING
        box = (
            await s.exec(
                select(
                    func.count(),
                    func.count().filter(col(OutboxRow.created_at) < overdue_before),
                ).where(waiting)
            )
        ).one()
        box_stale = (
            await s.exec(
                select(func.count()).where(
                    col(OutboxRow.state) == OutboxState.CLAIMED,
                    col(OutboxRow.claimed_at) < stale_before,
                )
            )
        ).one()
    total, due, overdue, oldest = counts
    return Backlog(
        int(total),
        int(due),
        int(overdue),
        int(stale),
        oldest if due else None,
        outbox_pending=int(box[0]),
        outbox_overdue=int(box[1]),
        outbox_stale_claims=int(box_stale),
    )
