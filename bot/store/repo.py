"""Queries. Every write commits before the caller talks to Slack, so a crash loses nothing."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.store.tables import (
    DueJob,
    Incident,
    JobState,
    Page,
    Participant,
    Publication,
    TimelineEntry,
)


@dataclass(frozen=True)
class Acknowledgement:
    """Who acknowledged an incident's page of escalation level `level`, and when."""

    level: int
    by: str
    at: datetime


class Store:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)

    def session(self) -> AsyncSession:
        return self._sessions()

    async def close(self) -> None:
        await self.engine.dispose()

    # -- incidents -----------------------------------------------------------------

    async def create_incident(self, incident: Incident, *entries: TimelineEntry) -> Incident:
        """Insert the incident and its first timeline entries in one transaction."""
        async with self.session() as s:
            s.add(incident)
            await s.flush()
            for e in entries:
                e.incident_id = incident.id
                s.add(e)
            await s.commit()
            return incident

    async def update_incident(self, incident_id: int, **fields: Any) -> Incident:
        async with self.session() as s:
            inc = await s.get(Incident, incident_id)
            if inc is None:
                raise LookupError(f"no incident {incident_id}")
            for k, v in fields.items():
                setattr(inc, k, v)
            s.add(inc)
            await s.commit()
            return inc

    async def get(self, incident_id: int) -> Incident | None:
        async with self.session() as s:
            return await s.get(Incident, incident_id)

    async def by_channel(self, channel_id: str) -> Incident | None:
        async with self.session() as s:
            res = await s.exec(select(Incident).where(Incident.channel_id == channel_id))
            return res.first()

    async def find(self, ref: str) -> Incident | None:
        """An incident by number (`INC-42`, `42`) or channel name (`#incident-...`)."""
        ref = ref.strip().lstrip("#")
        digits = ref[4:] if ref.upper().startswith("INC-") else ref
        if digits.isdigit():
            return await self.get(int(digits))
        async with self.session() as s:
            res = await s.exec(select(Incident).where(Incident.channel_name == ref))
            return res.first()

    async def list_open(self, limit: int = 50) -> Sequence[Incident]:
        async with self.session() as s:
            q = (
                select(Incident)
                .where(col(Incident.resolved_at).is_(None))
                .order_by(col(Incident.declared_at).desc(), col(Incident.id).desc())
                .limit(limit)
            )
            return (await s.exec(q)).all()

    async def resolved_since(self, since: datetime, limit: int = 50) -> Sequence[Incident]:
        """Incidents resolved at or after `since`, last resolved first."""
        async with self.session() as s:
            q = (
                select(Incident)
                .where(col(Incident.resolved_at) >= since)
                .order_by(col(Incident.resolved_at).desc())
                .limit(limit)
            )
            return (await s.exec(q)).all()

    async def unaccepted(self, declared_before: datetime) -> Sequence[Incident]:
        """Declarations committed before `declared_before` and never accepted."""
        async with self.session() as s:
            res = await s.exec(
                select(Incident).where(
                    col(Incident.accepted).is_(False), col(Incident.declared_at) < declared_before
                )
            )
            return res.all()

    # -- roles ---------------------------------------------------------------------

    async def roles(self, incident_id: int) -> dict[str, list[str]]:
        """{role: its holders, in the order assigned} (a role may have several: SMEs)."""
        async with self.session() as s:
            res = await s.exec(
                select(Participant)
                .where(Participant.incident_id == incident_id)
                .order_by(col(Participant.id))
            )
            held: dict[str, list[str]] = {}
            for p in res.all():
                held.setdefault(p.role, []).append(p.user_id)
            return held

    async def role_holders(self, incident_ids: Iterable[int]) -> dict[int, set[str]]:
        """{incident id: the users holding one of its roles}, for many incidents at once."""
        async with self.session() as s:
            res = await s.exec(
                select(Participant).where(col(Participant.incident_id).in_(list(incident_ids)))
            )
            holders: dict[int, set[str]] = {}
            for p in res.all():
                holders.setdefault(p.incident_id, set()).add(p.user_id)
            return holders

    async def set_role(
        self,
        session: AsyncSession,
        incident_id: int,
        role: str,
        users: Sequence[str],
        now: datetime,
    ) -> None:
        """`users` hold `role` from now on (its other holders no longer), in the caller's
        transaction."""
        res = await session.exec(
            select(Participant).where(
                Participant.incident_id == incident_id, Participant.role == role
            )
        )
        rows = list(res.all())
        for row in rows:
            if row.user_id not in users:
                await session.delete(row)
            else:
                row.assigned_at = now
                session.add(row)
        await session.flush()
        kept = {r.user_id for r in rows}
        for user in users:
            if user not in kept:
                session.add(
                    Participant(incident_id=incident_id, role=role, user_id=user, assigned_at=now)
                )

    # -- pages ---------------------------------------------------------------------

    async def paged_levels(self, incident_id: int) -> set[int]:
        async with self.session() as s:
            res = await s.exec(select(Page.level).where(Page.incident_id == incident_id))
            return set(res.all())

    async def acknowledgements(self, incident_id: int) -> list[Acknowledgement]:
        """The incident's acknowledged pages, first acknowledged first (the summary's
        "acknowledged by" line)."""
        async with self.session() as s:
            res = await s.exec(
                select(Page)
                .where(Page.incident_id == incident_id, col(Page.acked_at).is_not(None))
                .order_by(col(Page.acked_at), col(Page.level))
            )
            return [
                Acknowledgement(p.level, p.acked_by or "", p.acked_at)
                for p in res.all()
                if p.acked_at is not None
            ]

    # -- publications --------------------------------------------------------------

    async def last_public_title(self, session: AsyncSession, incident_id: int) -> str | None:
        """The public title the incident was last published under, if ever."""
        res = await session.exec(
            select(Publication.public_title)
            .where(Publication.incident_id == incident_id)
            .order_by(col(Publication.id).desc())
            .limit(1)
        )
        return res.first()

    async def published(
        self, resolved_since: datetime
    ) -> tuple[Sequence[Incident], Sequence[Publication]]:
        """Non-private incidents with at least one publication, newest first, resolved
        ones only when resolved at or after `resolved_since`; and their publications,
        newest first. Filtered here so the page does not read every publication ever."""
        async with self.session() as s:
            incidents = (
                await s.exec(
                    select(Incident)
                    .where(
                        col(Incident.id).in_(select(Publication.incident_id)),
                        col(Incident.private).is_(False),
                        or_(
                            col(Incident.resolved_at).is_(None),
                            col(Incident.resolved_at) >= resolved_since,
                        ),
                    )
                    .order_by(col(Incident.declared_at).desc(), col(Incident.id).desc())
                )
            ).all()
            pubs = (
                await s.exec(
                    select(Publication)
                    .where(col(Publication.incident_id).in_([i.id for i in incidents]))
                    .order_by(col(Publication.published_at).desc(), col(Publication.id).desc())
                )
            ).all()
        return incidents, pubs

    # -- due jobs ------------------------------------------------------------------

    async def next_due_by_incident(self, kind: str) -> dict[int, datetime]:
        """{incident id: when its next pending row of `kind` is due}."""
        async with self.session() as s:
            q = (
                select(DueJob.incident_id, func.min(DueJob.due_at))
                .where(DueJob.kind == kind, DueJob.state == JobState.PENDING)
                .group_by(col(DueJob.incident_id))
            )
            return {i: due for i, due in (await s.exec(q)).all()}

    # -- timeline ------------------------------------------------------------------

    async def entry_times(self, incident_id: int, kind: str) -> Sequence[datetime]:
        """When each of the incident's entries of `kind` happened."""
        async with self.session() as s:
            q = select(TimelineEntry.occurred_at).where(
                TimelineEntry.incident_id == incident_id, TimelineEntry.kind == kind
            )
            return (await s.exec(q)).all()

    async def timeline(self, incident_id: int) -> Sequence[TimelineEntry]:
        async with self.session() as s:
            q = (
                select(TimelineEntry)
                .where(TimelineEntry.incident_id == incident_id)
                .order_by(col(TimelineEntry.occurred_at), col(TimelineEntry.id))
            )
            return (await s.exec(q)).all()
