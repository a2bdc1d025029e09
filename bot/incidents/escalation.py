"""Paging an escalation level: invite its targets, mention them, DM the people, record it."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from bot.clock import Clock
from bot.incidents.chat import Chat, ChatError, Message, post_once, step_key
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


@dataclass
class Targets:
    users: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    mentions: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class Escalations:
    def __init__(self, store: Store, chat: Chat, policy: PolicyBook, clock: Clock) -> None:
        self.store = store
        self.chat = chat
        self.policy = policy
        self.clock = clock

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
        """Send the page, then record it (Page row, timeline, re-plan) in one transaction."""
        incident = await self.store.get(incident_id)
        if incident is None or incident.channel_id is None:
            log.warning("cannot page INC-%s: no channel", incident_id)
            return
        pol = await self.policy.of(incident)  # the chain it started with
        level = pol.escalation.levels[level_index]
        targets = await self._targets(pol, level)
        step = f"job:{job_id}" if job_id is not None else None
        await self._send(pol, incident, level, reason, targets, note, step, retry_since)

        now = when or self.clock.now()
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
            s.add(
                new_entry(
                    incident_id,
                    TimelineKind.ESCALATION,
                    now,
                    f"Escalated to {level.name} ({why}): {', '.join(targets.mentions)}",
                    author=by,
                    data={"level": level_index, "reason": reason.value, "users": targets.users},
                )
            )
            await due_jobs.finish(s, job_id, now)
            await due_jobs.replan(s, inc, pol, now)
            await s.commit()

    async def _targets(self, pol: Policy, level: Level) -> Targets:
        t = Targets()
        for key in level.targets:
            contact = pol.contacts[key]
            if contact.user:
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
        pol: Policy,
        incident: Incident,
        level: Level,
        reason: Reason,
        t: Targets,
        note: str | None,
        step: str | None,
        retry_since: datetime | None,
    ) -> None:
        assert incident.channel_id is not None
        channel = incident.channel_id

        async def post(where: str, text: str, part: str = "") -> None:
            key = step_key(step, where, part) if step else None
            message = Message(text=text, incident_id=incident.id, step=key)
            await post_once(self.chat, where, message, retry_since)

        values = incident_values(pol, incident, self.chat, await self.store.roles(incident.id))
        values.update(
            level=level.name,
            targets=", ".join(t.mentions) or "-",
            reason=REASON_TEXT[reason] + (f": {self.chat.literal(note)}" if note else ""),
        )
        problems = list(t.problems)
        if t.users:
            try:
                failed = await self.chat.invite(channel, t.users)
                problems += [
                    f"could not invite {self.chat.user_ref(u)}: `{c}`" for u, c in failed.items()
                ]
            except ChatError as e:
                problems.append(f"could not invite the targets: `{e.code}`")
        text = render(pol.templates.escalation, values)
        try:
            await post(channel, text)
        except ChatError as e:
            log.warning("escalation post failed in %s: %s", channel, e.code)
        dm = (
            f"You are paged for {incident.number} ({incident.severity}) as *{level.name}*: "
            f"{values['reason']}. Join {self.chat.channel_ref(channel)}."
        )
        for user in t.users:
            try:
                await post(user, dm)
            except ChatError as e:
                problems.append(f"could not DM {self.chat.user_ref(user)}: `{e.code}`")
        for target in t.channels:
            # A private incident's title stays inside it; the target still learns it is needed.
            what = "a private incident" if incident.private else f"*{values['title']}*"
            try:
                await post(
                    target,
                    f":rotating_light: {incident.number} ({incident.severity}), {what}, "
                    f"needs {level.name}: join {self.chat.channel_ref(channel)}",
                )
            except ChatError as e:
                problems.append(f"could not post in {target}: `{e.code}`")
        if problems:
            try:
                await post(
                    channel,
                    "Escalation problems:\n" + "\n".join(f"• {p}" for p in problems),
                    "problems",
                )
            except ChatError:
                log.warning("could not report escalation problems in %s", channel)
