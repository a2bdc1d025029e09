"""Setting up a declared incident's channel: create it (adopting one an interrupted
set-up created), then write the rest to the outbox in one transaction: invite the
responders, set the topic, post and pin the announcement, announce it elsewhere. Run
right after the declaration, or again by the scheduler after a crash: the channel is
found, and the rows, keyed by the step, are written once. What Slack refuses is
reported by the outbox (bot/incidents/delivery_problems.py)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.incidents import drills
from bot.incidents.channel_names import MAX_CHANNEL_NAME_LEN, channel_name, with_suffix
from bot.incidents.chat import Chat, ChatError, Message, step_key
from bot.incidents.invitees import severity_invitees
from bot.incidents.oncall import OnCallBook
from bot.incidents.outbox import ANNOUNCED, Outbox, rank
from bot.incidents.policy_book import PolicyBook
from bot.incidents.summary import (
    SummaryState,
    announcement_key,
    summary_message,
    topic_lane,
    topic_text,
)
from bot.policy.model import Contact, Severity
from bot.store.repo import Store
from bot.store.tables import Incident, OutboxRow

log = logging.getLogger(__name__)

REPORT = "Incident set up with problems"

MAX_NAME_ATTEMPTS = 50
MAX_TIMEOUTS = 3


@dataclass
class DeclareOutcome:
    incident: Incident
    problems: list[str] = field(default_factory=list)
    # Set when the set-up was left to another process: what the declarer is told instead.
    pending: str | None = None


class ChannelSetUp:
    def __init__(self, store: Store, chat: Chat, policy: PolicyBook, outbox: Outbox) -> None:
        self.store = store
        self.chat = chat
        self.policy = policy
        self.outbox = outbox
        # Who is on call, for a severity inviting a schedule (set by the composition root).
        self.oncall: OnCallBook | None = None

    async def run(
        self, outcome: DeclareOutcome, sev: Severity, retry_since: datetime | None
    ) -> None:
        """The steps, in order; a failing one is added to `outcome.problems` (and
        reported in the channel) and the rest go on."""
        incident = outcome.incident
        pol = await self.policy.of(incident)
        step = f"setup:{incident.id}"
        incident_id = incident.id
        if incident.channel_id is None:
            try:
                channel_id, name = await self._create_channel(incident, sev, retry_since)
            except ChatError as e:
                outcome.problems.append(f"Could not create the incident channel: `{e.code}`.")
                return
            incident = await self.store.update_incident(
                incident_id, channel_id=channel_id, channel_name=name
            )
            outcome.incident = incident
        else:
            channel_id = incident.channel_id

        invitees, problems = await self._invitees(sev, incident.commander_id)
        outcome.problems += problems
        state = SummaryState(pol, incident, await self.store.roles(incident.id))
        priority = rank(pol, incident)
        # The rest is outbox rows, in one transaction, keyed by the step: a set-up run
        # again writes none twice. The announcement, then its pin, in the channel's own
        # order; the invitations and the topic each in a lane of their own, side by side
        # with it (the critical path is create, post, pin); #incidents at its pace.
        async with self.store.session() as s:
            await self.outbox.invite(
                s,
                channel_id,
                invitees,
                key=step_key(step, channel_id, "invite"),
                incident_id=incident.id,
                priority=priority,
                report=REPORT,
                lane=f"{channel_id}:invite",
            )
            if pol.channel.topic:
                await self.outbox.topic(
                    s,
                    channel_id,
                    topic_text(state, self.chat),
                    key=step_key(step, channel_id, "topic"),
                    incident_id=incident.id,
                    priority=priority,
                    report=REPORT,
                    lane=topic_lane(channel_id),
                )
            announcement = announcement_key(incident.id, channel_id)
            if incident.announcement_ts is None:
                # The live summary's first state, made now (the critical path reads
                # nothing more); its edits are made by the same function when sent.
                await self.outbox.post(
                    s,
                    channel_id,
                    summary_message(state, self.chat),
                    key=announcement,
                    priority=priority,
                    then=ANNOUNCED,
                    problem="could not post the announcement",
                    report=REPORT,
                )
            await self.outbox.pin(
                s,
                channel_id,
                key=step_key(step, channel_id, "pin"),
                incident_id=incident.id,
                ts=incident.announcement_ts,
                ts_from=None if incident.announcement_ts else announcement,
                priority=priority,
                report=REPORT,
            )
            if pol.channel.announce and not incident.private:
                line = (
                    f"{incident.number} declared: *{self.chat.literal(incident.title)}* "
                    f"({sev.name}, {sev.label}). "
                    f"Join {self.chat.channel_ref(channel_id)}. "
                    f"Commander: {self.chat.user_ref(incident.commander_id)}"
                )
                where = pol.channel.announce
                await self.outbox.post(
                    s,
                    where,
                    Message(text=line, incident_id=incident.id),
                    key=step_key(step, where),
                    priority=priority,
                    problem=f"could not announce in {where}",
                    report=REPORT,
                )
            if outcome.problems:  # what is known now (a user group unreadable)
                report = f"{REPORT}:\n" + "\n".join(f"• {p}" for p in outcome.problems)
                await self.outbox.post(
                    s,
                    channel_id,
                    Message(text=report, incident_id=incident.id),
                    key=step_key(step, channel_id, "problems"),
                    priority=priority,
                )
            await s.commit()
        self.outbox.wake()

    async def _create_channel(
        self, incident: Incident, sev: Severity, retry_since: datetime | None
    ) -> tuple[str, str]:
        pol = await self.policy.of(incident)
        local = incident.declared_at.astimezone(ZoneInfo(pol.timezone))
        prefix = drills.CHANNEL_PREFIX if incident.drill else ""
        base = prefix + channel_name(
            pol.channel.pattern,
            title=incident.title,
            when=local,
            number=incident.id,
            severity=sev.name,
            max_len=MAX_CHANNEL_NAME_LEN - len(prefix),
        )
        if retry_since is not None:
            # A crash may have come between creating the channel and storing its id: a
            # channel of ours with one of the names we would try, no incident's yet, is it.
            names = [base] + [with_suffix(base, n) for n in range(2, MAX_NAME_ATTEMPTS + 2)]
            found = await self._orphan(incident, names)
            if found is not None:
                return found
        name = base
        attempt, timeouts = 2, 0
        while attempt < MAX_NAME_ATTEMPTS + 2:
            try:
                return await self.chat.create_channel(name, private=incident.private), name
            except ChatError as e:
                if e.code == "timeout" and timeouts < MAX_TIMEOUTS:
                    # Slack may have created it before the answer was lost: adopt it if
                    # so, else try the same name again.
                    timeouts += 1
                    adopted = await self._orphan(incident, [name])
                    if adopted is not None:
                        return adopted
                    continue
                # Taken names include archived channels; Slack is the only judge of that.
                if e.code != "name_taken":
                    raise
            name = with_suffix(base, attempt)
            attempt += 1
        raise ChatError("name_taken", f"{base} and {MAX_NAME_ATTEMPTS} suffixes are taken")

    async def _orphan(self, incident: Incident, names: list[str]) -> tuple[str, str] | None:
        """A channel the bot created under one of `names` that no incident owns: the one
        this incident's set-up created when Slack's answer (or the process) was lost."""
        ours = await self.chat.own_channels(names)
        for name in names:
            if name in ours and await self.store.by_channel(ours[name]) is None:
                log.info(
                    "%s: adopting #%s, created by an interrupted set-up", incident.number, name
                )
                return ours[name], name
        return None

    async def _invitees(self, sev: Severity, commander: str) -> tuple[list[str], list[str]]:
        pol, book = self.policy.policy, self.oncall
        if book is None:
            return await severity_invitees(self.chat, pol, sev, commander)
        now = book.clock.now()  # who is on call at the declaration

        async def on_call(contact: Contact) -> str | None:
            return await book.paged(pol, contact, now)

        return await severity_invitees(self.chat, pol, sev, commander, on_call)


async def record_announcement(s: AsyncSession, row: OutboxRow, result: dict[str, Any]) -> None:
    """In the transaction that marks the announcement delivered: its ts on the incident
    (the pin, the summary's edits and a set-up run again all read it there)."""
    if row.incident_id is None or not result.get("ts"):
        return
    incident = await s.get(Incident, row.incident_id)
    if incident is not None and incident.announcement_ts is None:
        incident.announcement_ts = str(result["ts"])
        s.add(incident)
