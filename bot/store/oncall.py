"""The on-call overrides set by command: written with who set them, read per schedule."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import col, select

from bot.store.repo import Store
from bot.store.tables import OncallOverride


async def add_override(store: Store, row: OncallOverride) -> OncallOverride:
    async with store.session() as s:
        s.add(row)
        await s.commit()
        return row


async def overrides(
    store: Store, *, schedule: str | None = None, ending_after: datetime | None = None
) -> Sequence[OncallOverride]:
    """Overrides (of one schedule), in the order they were set (a later one wins)."""
    async with store.session() as s:
        q = select(OncallOverride).order_by(col(OncallOverride.id))
        if schedule is not None:
            q = q.where(OncallOverride.schedule == schedule)
        if ending_after is not None:
            q = q.where(col(OncallOverride.end_at) > ending_after)
        return (await s.exec(q)).all()
