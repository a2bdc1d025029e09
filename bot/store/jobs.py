"""due_job and page rows. Reads take the caller's session: a change, its timeline line
and its clocks commit together. A claim is one conditional UPDATE per row (plus FOR
UPDATE SKIP LOCKED on PostgreSQL), so each row fires once across replicas."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.store.repo import Store
from bot.store.tables import DueJob, JobState, Page


async def pages_of(session: AsyncSession, incident_id: int) -> Sequence[Page]:
    res = await session.exec(select(Page).where(Page.incident_id == incident_id))
    return res.all()


async def page_at(session: AsyncSession, incident_id: int, level: int) -> Page | None:
    res = await session.exec(
        select(Page).where(Page.incident_id == incident_id, Page.level == level)
    )
    return res.first()


async def jobs_of(session: AsyncSession, incident_id: int) -> Sequence[DueJob]:
    """Every row of an incident, in every state."""
    res = await session.exec(select(DueJob).where(DueJob.incident_id == incident_id))
    return res.all()


async def has_open_job(session: AsyncSession, incident_id: int, kind: str) -> bool:
    """Is a row of `kind` pending or claimed for the incident?"""
    res = await session.exec(
        select(DueJob.id).where(
            DueJob.incident_id == incident_id,
            DueJob.kind == kind,
            col(DueJob.state).in_([JobState.PENDING, JobState.CLAIMED]),
        )
    )
    return res.first() is not None


async def next_due(session: AsyncSession) -> datetime | None:
    res = await session.exec(
        select(DueJob.due_at)
        .where(DueJob.state == JobState.PENDING)
        .order_by(col(DueJob.due_at))
        .limit(1)
    )
    return res.first()


async def take_back(
    store: Store, claimed_before: datetime, *, worker: str, in_flight: Collection[int]
) -> int:
    """Hand back (pending again) the rows claimed before `claimed_before`, except those
    `worker` is firing right now; how many. Its own transaction."""
    dead = (col(DueJob.state) == JobState.CLAIMED) & (col(DueJob.claimed_at) < claimed_before)
    if in_flight:
        mine = (col(DueJob.claimed_by) == worker) & col(DueJob.id).in_(in_flight)
        dead = dead & ~mine
    async with store.session() as s:
        res = await s.exec(
            update(DueJob).where(dead).values(state=JobState.PENDING, claimed_by=None)
        )
        await s.commit()
        return int(res.rowcount or 0)


async def claim_due(
    store: Store, now: datetime, *, worker: str, limit: int, first_kind: str
) -> list[tuple[int, int]]:
    """Claim for `worker` up to `limit` rows due by `now`, in one transaction: (job id,
    incident id) in due order, rows of `first_kind` first among those due together."""
    async with store.session() as s:
        q = (
            select(DueJob.id, DueJob.incident_id)
            .where(DueJob.state == JobState.PENDING, col(DueJob.due_at) <= now)
            .order_by(col(DueJob.due_at), col(DueJob.kind) != first_kind, col(DueJob.id))
            .limit(limit)
        )
        if store.engine.dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True)
        rows = list((await s.exec(q)).all())
        claimed = []
        for job_id, incident_id in rows:
            res = await s.exec(
                update(DueJob)
                .where(col(DueJob.id) == job_id, col(DueJob.state) == JobState.PENDING)
                .values(
                    state=JobState.CLAIMED,
                    claimed_by=worker,
                    claimed_at=now,
                    attempts=col(DueJob.attempts) + 1,
                )
            )
            if res.rowcount == 1:
                claimed.append((job_id, incident_id))
        await s.commit()
        return claimed
