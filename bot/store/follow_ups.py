"""Queries of the follow-through steps and action items. Reads take the caller's
session: an item, its timeline line, its clocks and its messages commit together."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.store.follow_tables import ActionItem, FollowUp
from bot.store.repo import Store
from bot.store.tables import Incident


async def follow_ups_of(session: AsyncSession, incident_id: int) -> Sequence[FollowUp]:
    res = await session.exec(select(FollowUp).where(FollowUp.incident_id == incident_id))
    return res.all()


async def follow_up(session: AsyncSession, incident_id: int, step: str) -> FollowUp:
    """The step's row, made (not yet flushed) when it has none."""
    res = await session.exec(
        select(FollowUp).where(FollowUp.incident_id == incident_id, FollowUp.step == step)
    )
    return res.first() or FollowUp(incident_id=incident_id, step=step)


async def items_of(session: AsyncSession, incident_id: int) -> Sequence[ActionItem]:
    res = await session.exec(
        select(ActionItem).where(ActionItem.incident_id == incident_id).order_by(col(ActionItem.id))
    )
    return res.all()


async def open_items_owned_by(store: Store, user: str) -> list[tuple[ActionItem, Incident]]:
    """A person's action items not done yet, soonest due first (undated last)."""
    async with store.session() as s:
        res = await s.exec(
            select(ActionItem, Incident)
            .join(Incident, col(Incident.id) == col(ActionItem.incident_id))
            .where(ActionItem.owner_id == user, col(ActionItem.done_at).is_(None))
            .order_by(col(ActionItem.due_at).is_(None), col(ActionItem.due_at), col(ActionItem.id))
        )
        return [(a, i) for a, i in res.all()]


async def steps_owed_by(store: Store, commander: str) -> list[tuple[Incident, Sequence[FollowUp]]]:
    """The resolved incidents `commander` leads, with their follow-through rows (the
    caller leaves out the steps that are done or not for their severity)."""
    async with store.session() as s:
        res = await s.exec(
            select(Incident).where(
                Incident.commander_id == commander, col(Incident.resolved_at).is_not(None)
            )
        )
        return [(i, await follow_ups_of(s, i.id)) for i in res.all()]
