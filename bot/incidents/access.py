"""Who may see an incident: ONE rule for `/incident list`, the App Home, the "Add to
timeline" picker and export.

A non-private incident is visible to everyone. A private one to the people inside it:
the members of its channel (invited responders) plus its commander, its declarer and its
role holders (who may have left the channel, and still run the incident).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.incidents.chat import Chat, ChatError
from bot.planning.planner import Kind
from bot.store.repo import Store
from bot.store.tables import Incident

log = logging.getLogger(__name__)


def insiders(incident: Incident, role_holders: Collection[str]) -> set[str]:
    """Who is inside an incident whatever its channel says."""
    return {incident.commander_id, incident.declared_by, *role_holders}


@dataclass(frozen=True)
class Board:
    """What the App Home shows a viewer: open and recently resolved incidents they may
    see, newest first, and when each open one's next update reminder is due."""

    open: list[Incident]
    resolved: list[Incident]
    next_nag: dict[int, datetime]


class Access:
    def __init__(self, store: Store, chat: Chat) -> None:
        self.store = store
        self.chat = chat

    async def visible_to(self, viewer: str, incidents: Sequence[Incident]) -> list[Incident]:
        """The incidents `viewer` may see, in the order given. The chat is asked for a
        channel's members only for a private incident the viewer is not an insider of."""
        private = [i.id for i in incidents if i.private]
        holders = await self.store.role_holders(private) if private else {}
        shown = []
        for incident in incidents:
            if not incident.private:
                shown.append(incident)
            elif viewer in insiders(incident, holders.get(incident.id, ())):
                shown.append(incident)
            elif viewer in await self._members(incident):
                shown.append(incident)
        return shown

    async def can_see(self, incident: Incident, viewer: str) -> bool:
        return bool(await self.visible_to(viewer, [incident]))

    async def _members(self, incident: Incident) -> set[str]:
        if incident.channel_id is None:
            return set()
        try:
            return await self.chat.channel_members(incident.channel_id)
        except ChatError as e:
            # Unreadable (the bot was removed, say): only the insiders see it.
            log.warning("members of %s unreadable: %s", incident.number, e.code)
            return set()

    async def list_open(self, viewer: str) -> list[Incident]:
        """Open incidents `viewer` may see, newest first."""
        return await self.visible_to(viewer, await self.store.list_open())

    async def board(self, viewer: str, resolved_since: datetime) -> Board:
        open_ = await self.store.list_open(limit=200)
        resolved = await self.store.resolved_since(resolved_since, limit=50)
        return Board(
            open=await self.visible_to(viewer, open_),
            resolved=await self.visible_to(viewer, resolved),
            next_nag=await self.store.next_due_by_incident(Kind.NAG),
        )
