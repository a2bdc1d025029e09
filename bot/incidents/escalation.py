"""Paging an escalation level: invite its targets, mention them, DM the people, record it."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import Clock
from bot.incidents.alerts import Alerts
from bot.incidents.chat import Chat, ChatError, Message, step_key
from bot.incidents.oncall import OnCallBook
from bot.incidents.outbox import Outbox, rank
from bot.incidents.policy_book import PolicyBook
from bot.incidents.timeline import TimelineKind, new_entry
from bot.incidents.values import incident_values
from bot.planning import due_jobs
from bot.planning.planner import Reason, next_level
from bot.policy.model import Level, Policy
from bot.policy.templates import render
from bot.store import jobs
from bot.store.repo import Store
from bot.store.tables import Incident, Page

log = logging.getLogger(__name__)

REASON_TEXT = {
    Reason.AT_DECLARE: "paged at declaration for this severity",
    Reason.UNRESOLVED: "still unresolved",
    Reason.NOT_ACKED: "the previous level did not acknowledge",
    Reason.IGNORED_NAGS: "update reminders were ignored",
    Reason.REPEAT: "still not acknowledged",
    Reason.MANUAL: "escalated by hand",
}


REPORT = "Escalation problems"


@dataclass
class Targets:
    users: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    mentions: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # Contact key -> the member on call there at the moment of the page (kept with it).
    on_call: dict[str, str] = field(default_factory=dict)
    # Keys of paging-service contacts (PagerDuty, Opsgenie), alerted beside the page.
    services: list[str] = field(default_factory=list)


class Escalations:
    def __init__(
        self, store: Store, chat: Chat, policy: PolicyBook, clock: Clock, outbox: Outbox
    ) -> None:
        self.store = store
        self.chat = chat
        self.policy = policy
        self.clock = clock
        self.outbox = outbox
        self.oncall = OnCallBook(store, clock)
        self.alerts = Alerts(outbox)

    async def escalate_now(
        self, incident_id: int, *, by: str | None, reason: str | None
    ) -> str | None:
        """`/incident escalate`: page the first level not paged yet; None if none is left."""
        async with self.store.session() as s:
            incident = await s.get(Incident, incident_id)
            if incident is None:
                return None
            state = due_jobs.clock_state(incident, await jobs.pages_of(s, incident_id))
        pol = await self.policy.of(incident)
        level = next_level(state, pol)
        if level is None:
            return None
        await self.page(incident_id, level, Reason.MANUAL, by=by, note=reason)
        return pol.escalation.levels[level].name

    async def page(
        self,
        incident_id: int,
        level_index: int,
        reason: Reason,
        *,
        by: str | None = None,
        note: str | None = None,
        when: datetime | None = None,
        job_id: int | None = None,
        retry_since: datetime | None = None,
    ) -> None:
        """Record the page (Page row, timeline, re-plan) and write what it sends (invites,
        the channel mention, a DM to each person, a post in each target channel) to the
        outbox, all in one transaction: the page exists before anything is sent, so an
        acknowledgement can never arrive for a page not yet recorded, and a crash either
        keeps the page with every message or leaves neither. (`retry_since` is kept for
        the scheduler's signature: a re-run after a crash has nothing to look for.)"""
        incident = await self.store.get(incident_id)
        if incident is None or incident.channel_id is None:
            log.warning("cannot page INC-%s: no channel", incident_id)
            return
        pol = await self.policy.of(incident)  # the chain it started with
        level = pol.escalation.levels[level_index]
        now = when or self.clock.now()
        # Reads only (group members, who is on call now), before the transaction.
        targets = await self._targets(pol, level, now)
        # Read before the transaction: a session waiting for a second connection while it
        # holds one is how a busy pool deadlocks.
        roles = await self.store.roles(incident_id)
        why = REASON_TEXT[reason] + (f": {note}" if note else "")
        async with self.store.session() as s:
            inc = await s.get(Incident, incident_id)
            assert inc is not None
            page = await jobs.page_at(s, incident_id, level_index)
            if page is None:
                page = Page(
                    incident_id=incident_id,
                    level=level_index,
                    reason=reason.value,
                    first_at=now,
                    last_at=now,
                )
            else:
                page.last_at = now
            s.add(page)
            if reason is Reason.IGNORED_NAGS:
                inc.nag_escalations += 1
            entry = new_entry(
                incident_id,
                TimelineKind.ESCALATION,
                now,
                f"Escalated to {level.name} ({why}): {', '.join(targets.mentions)}",
                author=by,
                data={
                    "level": level_index,
                    "reason": reason.value,
                    "users": targets.users,
                    **({"on_call": targets.on_call} if targets.on_call else {}),
                },
            )
            s.add(entry)
            await s.flush()
            step = f"job:{job_id}" if job_id is not None else f"page:{entry.id}"
            await self._send(s, pol, inc, roles, level, reason, targets, note, step)
            if targets.services:  # once per incident and level (keyed so), never again
                await self.alerts.send(s, pol, inc, [level_index], "trigger")
            await due_jobs.finish(s, job_id, now)
            await due_jobs.replan(s, inc, pol, now)
            await s.commit()
        self.outbox.wake()

    async def _targets(self, pol: Policy, level: Level, now: datetime) -> Targets:
        t = Targets()
        for key in level.targets:
            contact = pol.contacts[key]
            if contact.schedule:
                user = await self.oncall.paged(pol, contact, now)
                if user is None:
                    t.problems.append(f"nobody is on call in `{key}` right now")
                    continue
                t.on_call[key] = user
                t.users.append(user)
                t.mentions.append(self.chat.user_ref(user))
            elif contact.pagerduty or contact.opsgenie:
                t.services.append(key)
                t.mentions.append(f"{'PagerDuty' if contact.pagerduty else 'Opsgenie'} `{key}`")
            elif contact.user:
                t.users.append(contact.user)
                t.mentions.append(self.chat.user_ref(contact.user))
            elif contact.usergroup:
                t.mentions.append(self.chat.group_ref(contact.usergroup))
                try:
                    t.users += await self.chat.group_members(contact.usergroup)
                except ChatError as e:
                    t.problems.append(f"could not read the members of `{key}`: `{e.code}`")
            elif contact.channel:
                t.channels.append(contact.channel)
                t.mentions.append(self.chat.channel_ref(contact.channel))
        t.users = list(dict.fromkeys(t.users))
        return t

    async def _send(
        self,
        s: AsyncSession,
        pol: Policy,
        incident: Incident,
        roles: dict[str, str],
        level: Level,
        reason: Reason,
        t: Targets,
        note: str | None,
        step: str,
    ) -> None:
        assert incident.channel_id is not None
        channel = incident.channel_id
        priority = rank(pol, incident)

        async def post(where: str, text: str, problem: str | None = None) -> None:
            message = Message(text=text, incident_id=incident.id)
            key = step_key(step, where)
            await self.outbox.post(
                s, where, message, key=key, priority=priority, problem=problem, report=REPORT
            )

        values = incident_values(pol, incident, self.chat, roles)
        values.update(
            level=level.name,
            targets=", ".join(t.mentions) or "-",
            reason=REASON_TEXT[reason] + (f": {self.chat.literal(note)}" if note else ""),
        )
        if t.users:
            await self.outbox.invite(
                s,
                channel,
                t.users,
                key=step_key(step, channel, "invite"),
                incident_id=incident.id,
                priority=priority,
                report=REPORT,
            )
        await post(channel, render(pol.templates.escalation, values))
        dm = (
            f"You are paged for {incident.number} ({incident.severity}) as *{level.name}*: "
            f"{values['reason']}. Join {self.chat.channel_ref(channel)}."
        )
        for user in t.users:
            await post(user, dm, f"could not DM {self.chat.user_ref(user)}")
        for target in t.channels:
            # A private incident's title stays inside it; the target still learns it is needed.
            what = "a private incident" if incident.private else f"*{values['title']}*"
            await post(
                target,
                f":rotating_light: {incident.number} ({incident.severity}), {what}, "
                f"needs {level.name}: join {self.chat.channel_ref(channel)}",
                f"could not post in {target}",
            )
        if t.problems:  # known now (a user group unreadable): said with the page
            await post(channel, f"{REPORT}:\n" + "\n".join(f"• {p}" for p in t.problems))
