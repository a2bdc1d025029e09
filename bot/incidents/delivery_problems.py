"""What the incident channel is told when the outbox could not deliver part of a step:
the invites Slack refused, a DM or a post that failed for good. The step itself stood
(the page is recorded, the reminder counted); the people running the incident learn
what did not reach whom, as they did when the step sent its messages itself."""

from __future__ import annotations

import logging
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.incidents.chat import Chat, Message, step_key
from bot.incidents.outbox import Outbox
from bot.store.repo import Store
from bot.store.tables import Incident, OutboxRow

log = logging.getLogger(__name__)


class DeliveryProblems:
    def __init__(self, store: Store, chat: Chat, outbox: Outbox) -> None:
        self.store = store
        self.chat = chat
        self.outbox = outbox

    async def invites_done(self, s: AsyncSession, row: OutboxRow, result: dict[str, Any]) -> None:
        """In the transaction that marks an invite done: name who could not be invited."""
        failed: dict[str, str] = dict(result.get("failed") or {})
        if not failed:
            return
        lines = [f"• could not invite {self.chat.user_ref(u)}: `{c}`" for u, c in failed.items()]
        text = f"{row.payload.get('report') or 'Problems'}:\n" + "\n".join(lines)
        message = Message(text=text, incident_id=row.incident_id)
        channel = str(row.payload.get("to") or row.conversation)  # the lane may differ
        await self.outbox.post(
            s, channel, message, key=step_key(row.key, "problems"), priority=row.priority
        )

    async def while_open(self, row: OutboxRow) -> bool:
        """Guard: is the row's incident still open (a reminder written just before the
        resolution is not worth sending after it)?"""
        if row.incident_id is None:
            return True
        incident = await self.store.get(row.incident_id)
        return incident is not None and incident.resolved_at is None

    async def failed(self, row: OutboxRow, code: str) -> None:
        """A row given up: say so in its incident's channel, or, when that is where it
        failed (the bot was removed, the channel archived), to the commander by DM."""
        problem, report = row.payload.get("problem"), row.payload.get("report")
        if row.incident_id is None or not problem or not report:
            return
        async with self.store.session() as s:
            incident = await s.get(Incident, row.incident_id)
            if incident is None or incident.channel_id is None:
                log.warning("%s for INC-%s: %s (not reported)", problem, row.incident_id, code)
                return
            text = f"{report} in {incident.number}:\n• {problem}: `{code}`"
            where = incident.channel_id
            if where == row.conversation:
                where = incident.commander_id
                text += " (what it said is recorded in the timeline; tell the channel yourself)"
            await self.outbox.post(
                s,
                where,
                Message(text=text, incident_id=incident.id),
                key=step_key(row.key, "problems"),
                priority=row.priority,
            )
            await s.commit()
        self.outbox.wake()
