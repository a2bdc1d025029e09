"""The queries `report` and the App Home's Insights read: a period's incidents (drills
left out, as everywhere figures are made), their pages and their update times, each in
one query for the whole period."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlmodel import col, func, select

from bot.store.repo import Store
from bot.store.tables import Incident, Page, TimelineEntry


async def declared_between(
    store: Store, since: datetime, until: datetime, *, private: bool = True
) -> Sequence[Incident]:
    """Accepted incidents declared in [since, until], oldest first; never drills, and
    private ones only if `private`."""
    async with store.session() as s:
        q = select(Incident).where(
            col(Incident.declared_at) >= since,
            col(Incident.declared_at) <= until,
            col(Incident.accepted).is_(True),
            col(Incident.drill).is_(False),
        )
        if not private:
            q = q.where(col(Incident.private).is_(False))
        return (await s.exec(q.order_by(col(Incident.declared_at), col(Incident.id)))).all()


async def drills_between(store: Store, since: datetime, until: datetime) -> int:
    async with store.session() as s:
        q = select(func.count()).where(
            col(Incident.declared_at) >= since,
            col(Incident.declared_at) <= until,
            col(Incident.drill).is_(True),
        )
        return int((await s.exec(q)).one())


async def pages_by_incident(store: Store, ids: Sequence[int]) -> dict[int, list[Page]]:
    found: dict[int, list[Page]] = defaultdict(list)
    if not ids:
        return found
    async with store.session() as s:
        for page in (await s.exec(select(Page).where(col(Page.incident_id).in_(ids)))).all():
            found[page.incident_id].append(page)
    return found


async def times_by_incident(
    store: Store, ids: Sequence[int], kind: str
) -> dict[int, list[datetime]]:
    """When each incident's timeline entries of `kind` happened, in order."""
    found: dict[int, list[datetime]] = defaultdict(list)
    if not ids:
        return found
    async with store.session() as s:
        q = (
            select(TimelineEntry.incident_id, TimelineEntry.occurred_at)
            .where(col(TimelineEntry.incident_id).in_(ids), TimelineEntry.kind == kind)
            .order_by(col(TimelineEntry.occurred_at))
        )
        for incident_id, at in (await s.exec(q)).all():
            found[incident_id].append(at)
    return found
