"""How the last call to each paging service went (for /healthz)."""

from __future__ import annotations

from collections.abc import Collection

from sqlmodel import col, select

from bot.store.outbox import OutboxState
from bot.store.repo import Store
from bot.store.tables import OutboxRow


async def refused(store: Store, ops: Collection[str], look_back: int = 200) -> dict[str, str]:
    """{contact key: error} of the paging contacts whose latest finished call failed."""
    async with store.session() as s:
        rows = (
            await s.exec(
                select(OutboxRow)
                .where(
                    col(OutboxRow.op).in_(list(ops)),
                    col(OutboxRow.state).in_([OutboxState.DONE, OutboxState.FAILED]),
                )
                .order_by(col(OutboxRow.finished_at).desc(), col(OutboxRow.id).desc())
                .limit(look_back)
            )
        ).all()
    latest: dict[str, OutboxRow] = {}
    for row in rows:
        latest.setdefault(str(row.payload.get("contact") or row.op), row)
    return {k: r.error or "failed" for k, r in latest.items() if r.state == OutboxState.FAILED}
