"""The commander's controls: update, status, severity, ack, hand-over, roles, notes,
escalate, snooze, resolve. Same use case whether it came by command or by button.

Each one checks first (a refusal changes nothing), then changes the incident, its
timeline line, its clocks and what it tells the channel (posts and invites, as outbox
rows) in one transaction. The chat hears of it once that commits: a crash loses the
change and its messages together or neither, and a post Slack refuses is reported
in the incident by the outbox (bot/incidents/delivery_problems.py).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import Clock
from bot.incidents import monitoring
from bot.incidents.acks import acknowledge
from bot.incidents.chat import Chat, Message, step_key
from bot.incidents.checks import Checks
from bot.incidents.errors import (
    FinalStatus,
    MissingText,
    NothingToDo,
    NotYet,
)
from bot.incidents.escalation import Escalations
from bot.incidents.outbox import Outbox, rank
from bot.incidents.policy_book import PolicyBook
from bot.incidents.policy_words import level_named, role_named, status_named
from bot.incidents.severity_change import SeverityChange
from bot.incidents.summary import Summaries
from bot.incidents.timeline import TimelineKind, new_entry
from bot.incidents.values import fmt_time, incident_values, mentions
from bot.planning import due_jobs
from bot.policy.durations import format_duration
from bot.policy.model import Policy
from bot.policy.permissions import Action as PolicyAction
from bot.policy.templates import render
from bot.store import jobs
from bot.store.repo import Store
from bot.store.tables import Incident

log = logging.getLogger(__name__)

SNOOZE_CHOICES = (timedelta(minutes=15), timedelta(minutes=30), timedelta(hours=1))


# What a change tells the chat: (where, text) posts, "" meaning the incident channel.
Said = list[tuple[str, str]]


class Controls:
    def __init__(
        self,
        store: Store,
        chat: Chat,
        policy: PolicyBook,
        clock: Clock,
        escalations: Escalations,
        outbox: Outbox,
    ) -> None:
        self.store = store
        self.chat = chat
        self.policy = policy
        self.clock = clock
        self.escalations = escalations
        self.outbox = outbox
        self.checks = Checks(store, chat, policy)
        self.summaries = Summaries(store, chat, policy, outbox)
        self.severity_change = SeverityChange(
            store, chat, policy, clock, outbox, self._tell, escalations.oncall
        )

    async def check(self, incident: Incident, user: str, action: PolicyAction) -> None:
        """Refuse (IncidentClosed, NotAllowed) unless `user` may do `action` now."""
        await self.checks.check(incident, user, action)

    # -- the one way to change an incident -----------------------------------------

    async def _change(
        self,
        incident: Incident,
        user: str | None,
        kind: TimelineKind,
        text: str,
        mutate: Callable[[Incident], None],
        *,
        data: dict[str, Any] | None = None,
        say: Callable[[Incident], Said] | None = None,
        invite: Sequence[str] = (),
        also: Callable[[AsyncSession, Incident], Awaitable[None]] | None = None,
    ) -> Incident:
        """Change the incident, with its timeline line, its clocks and what `say` makes
        of the changed incident (no reads in there: its values are read before)."""
        now = self.clock.now()
        pol = await self.policy.of(incident)
        async with self.store.session() as s:
            inc = await s.get(Incident, incident.id)
            assert inc is not None
            mutate(inc)
            entry = new_entry(inc.id, kind, now, text, author=user, data=data)
            s.add(entry)
            await s.flush()
            await due_jobs.replan(s, inc, pol, now)
            await self._tell(s, pol, inc, entry.id, say(inc) if say else [], invite)
            if also is not None:  # more rows of the same change (paging services)
                await also(s, inc)
            await s.commit()
        self.outbox.wake()
        return inc

    async def _tell(
        self,
        s: AsyncSession,
        pol: Policy,
        incident: Incident,
        entry_id: int,
        said: Said,
        invite: Sequence[str] = (),
    ) -> None:
        """Write a change's messages to the outbox, in the change's transaction, keyed
        by its timeline line: written once, whatever happens after."""
        channel = incident.channel_id
        step = f"tl:{entry_id}"
        priority = rank(pol, incident)
        # Every change shows in the pinned summary and the topic.
        await self.summaries.refresh(s, pol, incident, step)
        if channel and invite:
            await self.outbox.invite(
                s,
                channel,
                invite,
                key=step_key(step, channel, "invite"),
                incident_id=incident.id,
                priority=priority,
                report="Problems",
            )
        for n, (where, text) in enumerate(said):
            target = where or channel
            if target is None:  # no channel (its set-up failed): nothing to tell it
                continue
            await self.outbox.post(
                s,
                target,
                Message(text=text, incident_id=incident.id),
                key=step_key(step, target, str(n)),
                priority=priority,
                problem=f"could not post in {self.chat.channel_ref(target)}",
                report="Problems",
            )

    # -- the controls ----------------------------------------------------------------

    async def update(
        self, incident: Incident, user: str, text: str, status: str | None = None
    ) -> Incident:
        await self.checks.check(incident, user, "update")
        text = text.strip()
        if not text:
            raise MissingText(
                "An update needs text: `/incident update [status] <what changed>`.", field="text"
            )
        pol = await self.policy.of(incident)
        new_status = status_named(pol, status) if status else None
        if new_status == pol.statuses.final:
            raise FinalStatus(
                f"`{new_status}` is not an update status: to close {incident.number} use "
                "`/incident resolve <summary>` (or the Resolve button)."
            )
        now = self.clock.now()

        def apply(inc: Incident) -> None:
            if new_status:
                monitoring.track(pol, inc, new_status, now)
                inc.status = new_status
            inc.last_update_at = now
            inc.nags_since_update = inc.nag_escalations = 0
            inc.snoozed_until = None

        change = (
            {"status": {"from": incident.status, "to": new_status}}
            if new_status and new_status != incident.status
            else None
        )
        roles = await self.store.roles(incident.id)
        number = len(await self.store.entry_times(incident.id, TimelineKind.UPDATE)) + 1

        def say(inc: Incident) -> Said:
            values = incident_values(pol, inc, self.chat, roles)
            values["update"] = self.chat.literal(text)
            values["now"] = fmt_time(now, pol.timezone)
            values["update_number"] = str(number)
            posted = render(pol.templates.update, values)
            said: Said = [("", posted)]
            sev = pol.severity(inc.severity)
            if sev and sev.broadcast_updates and pol.channel.announce and not inc.private:
                # The policy has this severity's updates told outside the channel too.
                said.append((pol.channel.announce, f"{posted}\n_Follow it in {values['channel']}_"))
            return said

        return await self._change(
            incident, user, TimelineKind.UPDATE, text, apply, data=change, say=say
        )

    async def set_status(self, incident: Incident, user: str, status: str) -> Incident:
        await self.checks.check(incident, user, "update")
        pol = await self.policy.of(incident)
        new = status_named(pol, status)
        if new == pol.statuses.final:
            raise FinalStatus("To close the incident use `/incident resolve <summary>`.")
        now = self.clock.now()

        def apply(inc: Incident) -> None:
            monitoring.track(pol, inc, new, now)
            inc.status = new

        old = incident.status
        line = (
            f"Status: *{old.capitalize()}* → *{new.capitalize()}* (by {self.chat.user_ref(user)})"
        )
        return await self._change(
            incident,
            user,
            TimelineKind.STATUS,
            f"Status {old} → {new}",
            apply,
            say=lambda _: [("", line)],
        )

    async def set_severity(self, incident: Incident, user: str, severity: str) -> Incident:
        """The new severity's set-up applied (bot/incidents/severity_change.py)."""
        await self.checks.check(incident, user, "severity")
        return await self.severity_change.run(incident, user, severity)

    async def ack(self, incident: Incident, user: str) -> int:
        """Acknowledge the open pages addressed to `user`; how many (bot/incidents/acks.py)."""
        return await acknowledge(self, incident, user)

    async def set_commander(self, incident: Incident, by: str, user: str) -> Incident:
        await self.checks.check(incident, by, "commander")
        if user == incident.commander_id:
            raise NothingToDo(f"{self.chat.user_ref(user)} is already the commander.")

        def apply(inc: Incident) -> None:
            inc.commander_id = user

        line = (
            f":crown: {self.chat.user_ref(user)} is now the incident "
            f"commander (handed over by {self.chat.user_ref(by)})."
        )
        return await self._change(
            incident,
            by,
            TimelineKind.COMMANDER,
            f"Command handed to {self.chat.user_ref(user)}",
            apply,
            say=lambda _: [("", line)],
            invite=[user],
        )

    async def assign_role(
        self, incident: Incident, by: str, role: str, user: str | Sequence[str]
    ) -> Incident:
        """`user`, or several people (SMEs), hold `role` from now on."""
        await self.checks.check(incident, by, "role")
        pol = await self.policy.of(incident)
        name = role_named(pol, role)
        users = list(dict.fromkeys([user] if isinstance(user, str) else user))
        if name == "commander":
            if len(users) != 1:
                raise MissingText("An incident has one commander: `/incident commander @person`.")
            return await self.set_commander(incident, by, users[0])
        now = self.clock.now()
        async with self.store.session() as s:
            await self.store.set_role(s, incident.id, name, users, now)
            who = mentions(self.chat, users)
            entry = new_entry(incident.id, TimelineKind.ROLE, now, f"{name}: {who}", author=by)
            s.add(entry)
            await s.flush()
            are = "is" if len(users) == 1 else "are"
            line = f"{who} {are} now *{name}* (assigned by {self.chat.user_ref(by)})."
            await self._tell(s, pol, incident, entry.id, [("", line)], invite=users)
            await s.commit()
        self.outbox.wake()
        return incident

    async def note(self, incident: Incident, user: str, text: str) -> None:
        text = text.strip()
        if not text:
            raise MissingText("A note needs text: `/incident note <what happened>`.")
        async with self.store.session() as s:
            s.add(new_entry(incident.id, TimelineKind.NOTE, self.clock.now(), text, author=user))
            await s.commit()

    async def escalate(
        self, incident: Incident, user: str, reason: str | None, level: str | None = None
    ) -> str:
        """Page `level` (by name), or the next level not paged yet."""
        await self.checks.check(incident, user, "escalate")
        index = level_named(await self.policy.of(incident), level) if level else None
        level = await self.escalations.escalate_now(
            incident.id, by=user, reason=reason, level=index
        )
        if level is None:
            raise NothingToDo(
                f"Every level of the escalation chain has been paged for "
                f"{incident.number}. Page people directly in the channel."
            )
        return level

    async def snooze(self, incident: Incident, user: str, duration: timedelta) -> Incident:
        await self.checks.check(incident, user, "update")
        until = self.clock.now() + duration

        def apply(inc: Incident) -> None:
            inc.snoozed_until = until

        inc = await self._change(
            incident,
            user,
            TimelineKind.SNOOZE,
            f"Reminder snoozed for {format_duration(duration)}",
            apply,
        )
        return inc

    async def resolve(self, incident: Incident, user: str, summary: str) -> Incident:
        await self.checks.check(incident, user, "resolve")
        sure, summary = monitoring.confirmed(summary)
        if not summary:
            raise MissingText(
                "Resolving needs a summary: `/incident resolve <what fixed it>`.", field="summary"
            )
        pol = await self.policy.of(incident)
        now = self.clock.now()
        early = None if sure else monitoring.too_early(pol, incident, now)
        if early:
            raise NotYet(early, field="summary")

        def apply(inc: Incident) -> None:
            inc.resolved_at, inc.summary, inc.status = now, summary, pol.statuses.final
            inc.monitoring_since = None

        roles = await self.store.roles(incident.id)

        def say(inc: Incident) -> Said:
            values = incident_values(pol, inc, self.chat, roles)
            said = [("", render(pol.templates.resolution, values))]
            if pol.channel.announce and not inc.private:
                said.append(
                    (
                        pol.channel.announce,
                        f":white_check_mark: {inc.number} resolved: *{values['title']}* "
                        f"({inc.severity}) after {values['duration']}.",
                    )
                )
            return said

        async def resolve_alerts(s: AsyncSession, inc: Incident) -> None:
            paged = [p.level for p in await jobs.pages_of(s, inc.id)]
            await self.escalations.alerts.send(s, pol, inc, paged, "resolve")

        return await self._change(
            incident, user, TimelineKind.RESOLVE, summary, apply, say=say, also=resolve_alerts
        )
