"""Moving an incident that became private to a private channel.

Slack cannot make a public channel private through the bot API, so the bot moves the
incident: it creates a private channel (a Slack call, before the change's transaction),
then, in that transaction, points the incident at it, invites the old channel's
members and the severity's invitees, posts and pins the live summary there, posts a
pointer in the old channel and archives it (outbox rows, in that order).

When Slack refuses the new channel (`restricted_action`, say), the incident is private
all the same (nothing more about it leaves it) and stays where it is; the commander is
told what failed, in the channel.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.incidents.channel_names import MAX_CHANNEL_NAME_LEN, with_suffix
from bot.incidents.chat import Chat, ChatCode, ChatError, Message, step_key
from bot.incidents.outbox import ANNOUNCED, Outbox, rank
from bot.incidents.summary import SUMMARY, SummaryState, announcement_key, summary_message
from bot.policy.model import Policy
from bot.store.repo import Store
from bot.store.tables import Incident

log = logging.getLogger(__name__)

REPORT = "Moving to a private channel"
SUFFIX = "-private"
MAX_NAME_ATTEMPTS = 20


@dataclass(frozen=True)
class Move:
    """What was prepared in Slack: the new channel, or why there is none."""

    old: str | None
    new: str | None = None
    name: str | None = None
    members: list[str] = field(default_factory=list)
    problem: str | None = None


def private_name(incident: Incident) -> str:
    base = incident.channel_name or f"incident-{incident.id}"
    return base[: MAX_CHANNEL_NAME_LEN - len(SUFFIX)].rstrip("-_") + SUFFIX


class PrivateMove:
    def __init__(self, store: Store, chat: Chat, outbox: Outbox) -> None:
        self.store = store
        self.chat = chat
        self.outbox = outbox

    async def prepare(self, incident: Incident) -> Move:
        """Read the old channel's members and create the private channel."""
        old = incident.channel_id
        if old is None:  # its set-up failed: nothing to move
            return Move(old)
        try:
            members = sorted(await self.chat.channel_members(old))
        except ChatError as e:
            return Move(old, problem=f"could not read the channel's members: `{e.code}`")
        base = private_name(incident)
        name = base
        for attempt in range(2, MAX_NAME_ATTEMPTS + 2):
            try:
                new = await self.chat.create_channel(name, private=True)
            except ChatError as e:
                if e.code != ChatCode.NAME_TAKEN:
                    log.warning("%s: no private channel: %s", incident.number, e.code)
                    return Move(old, members=members, problem=f"`{e.code}`")
                name = with_suffix(base, attempt)
                continue
            log.info("%s: moving to private #%s", incident.number, name)
            return Move(old, new, name, members)
        return Move(old, members=members, problem=f"`name_taken` ({base} and its suffixes)")

    async def apply(
        self,
        s: AsyncSession,
        pol: Policy,
        inc: Incident,
        move: Move,
        by: str,
        invitees: Sequence[str],
    ) -> None:
        """In the severity change's transaction (`inc` is already private)."""
        priority = rank(pol, inc)
        if move.new is None or move.old is None:
            if move.old is not None and move.problem:
                text = (
                    f":lock: {self.chat.user_ref(inc.commander_id)}: {inc.number} is private "
                    "from now on: nothing more about it reaches the announcement channel, "
                    "`list`, the App Home or the status page. It could not be moved to a "
                    f"private channel ({move.problem}), so it stays in this one: remove "
                    "whoever should not be here, or create a private channel yourself."
                )
                await self.outbox.post(
                    s,
                    move.old,
                    Message(text=text, incident_id=inc.id),
                    key=step_key(f"private:{inc.id}", move.old, "failed"),
                    priority=priority,
                )
            return
        old, new = move.old, move.new
        step = f"private:{inc.id}"
        inc.channel_id, inc.channel_name, inc.announcement_ts = new, move.name, None
        people = [inc.commander_id, by, *move.members, *invitees]
        await self.outbox.invite(
            s,
            new,
            people,
            key=step_key(step, new, "invite"),
            incident_id=inc.id,
            priority=priority,
            report=REPORT,
            lane=f"{new}:invite",
        )
        # The live summary, made when it is sent (the state of then), pinned.
        announcement = announcement_key(inc.id, new)
        await self.outbox.post(
            s,
            new,
            summary_message(SummaryState(pol, inc, {}), self.chat),
            key=announcement,
            priority=priority,
            then=ANNOUNCED,
            render=SUMMARY,
            args={"incident_id": inc.id},
            problem="could not post the summary",
            report=REPORT,
        )
        await self.outbox.pin(
            s,
            new,
            key=step_key(step, new, "pin"),
            incident_id=inc.id,
            ts_from=announcement,
            priority=priority,
            report=REPORT,
        )
        pointer = (
            f":lock: {inc.number} is private from now on and continues in a private "
            "channel; this channel's members were invited to it. This channel is archived."
        )
        await self.outbox.post(
            s,
            old,
            Message(text=pointer, incident_id=inc.id),
            key=step_key(step, old, "pointer"),
            priority=priority,
            problem="could not post the pointer in the old channel",
            report=REPORT,
        )
        await self.outbox.archive(
            s,
            old,
            key=step_key(step, old, "archive"),
            incident_id=inc.id,
            priority=priority,
            report=REPORT,
        )
