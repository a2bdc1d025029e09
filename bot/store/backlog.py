"""What the self-check and /metrics read from the store: is the database there, and is
the work that was due getting done? (Read-only, cheap: indexed counts.)"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from bot.store.repo import Store
from bot.store.tables import DueJob

# DueJob.state values (bot/planning/due_jobs.py names them; the store does not import it).
PENDING, CLAIMED = "pending", "claimed"


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
    total, due, overdue, oldest = counts
    return Backlog(int(total), int(due), int(overdue), int(stale), oldest if due else None)
