"""Paging an escalation level: invite its targets, mention them, DM the people, record it."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import Clock
from bot.incidents import paging_targets
from bot.incidents.alerts import Alerts
from bot.incidents.chat import Chat, Control, Message, step_key
from bot.incidents.oncall import OnCallBook
from bot.incidents.outbox import Outbox, rank
from bot.incidents.paging_targets import Targets
from bot.incidents.policy_book import PolicyBook
from bot.incidents.summary import Summaries
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


def reason_text(incident: Incident, reason: Reason) -> str:
    """Why a level is paged, saying what happened: a level paged "at declaration" for a
    severity the incident was changed to is paged because of that change."""
    since = incident.severity_since
    if reason is Reason.AT_DECLARE and since is not None and since > incident.declared_at:
        return f"severity raised to {incident.severity}"
    return REASON_TEXT[reason]


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
        self.summaries = Summaries(store, chat, policy, outbox)

    async def escalate_now(
        self, incident_id: int, *, by: str | None, reason: str | None, level: int | None = None
    ) -> str | None:
        """`/incident escalate`: page `level` (a person may page any level, a manual one
        too, again if it was paged), by default the first level not paged yet; None if
        none is left."""
        async with self.store.session() as s:
            incident = await s.get(Incident, incident_id)
            if incident is None:
                return None
            state = due_jobs.clock_state(incident, await jobs.pages_of(s, incident_id))
        pol = await self.policy.of(incident)
        if level is None:
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
        targets = await paging_targets.resolve(
            self.chat, pol, level, at=now, on_call=self.oncall.paged
        )
        # Read before the transaction: a session waiting for a second connection while it
        # holds one is how a busy pool deadlocks.
        roles = await self.store.roles(incident_id)
        why = reason_text(incident, reason) + (f": {note}" if note else "")
        async with self.store.session() as s:
            inc = await s.get(Incident, incident_id)
            assert inc is not None
            page = await jobs.page_at(s, incident_id, level_index)
            addressed = [a.as_json() for a in targets.addressed]
            if page is None:
                page = Page(
                    incident_id=incident_id,
                    level=level_index,
                    reason=reason.value,
                    first_at=now,
                    last_at=now,
                    targets=addressed,
                )
            else:  # paged again: whoever it reached, then or now, may acknowledge it
                page.last_at = now
                if page.targets is not None:  # None: recorded before, open to anyone
                    page.targets = page.targets + [a for a in addressed if a not in page.targets]
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
            await self.summaries.refresh(s, pol, inc, step)  # the page shows in the summary
            await due_jobs.finish(s, job_id, now)
            await due_jobs.replan(s, inc, pol, now)
            await s.commit()
        self.outbox.wake()

    async def _send(
        self,
        s: AsyncSession,
        pol: Policy,
        incident: Incident,
        roles: dict[str, list[str]],
        level: Level,
        reason: Reason,
        t: Targets,
        note: str | None,
        step: str,
    ) -> None:
        assert incident.channel_id is not None
        channel = incident.channel_id
        priority = rank(pol, incident)

        async def post(
            where: str, text: str, problem: str | None = None, *, ack: bool = False
        ) -> None:
            # The page's mention and DMs carry Acknowledge.
            controls = (Control.ACKNOWLEDGE,) if ack else ()
            message = Message(text=text, incident_id=incident.id, controls=controls)
            key = step_key(step, where)
            await self.outbox.post(
                s,
                where,
                message,
                key=key,
                priority=priority,
                problem=problem,
                report=REPORT,
            )

        values = incident_values(pol, incident, self.chat, roles)
        values.update(
            level=level.name,
            targets=", ".join(t.mentions) or "-",
            reason=reason_text(incident, reason) + (f": {self.chat.literal(note)}" if note else ""),
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
        await post(channel, render(pol.templates.escalation, values), ack=True)
        for user in t.users:
            dm = page_dm(pol, incident, values, level, t, user, self.chat.channel_ref(channel))
            await post(user, dm, f"could not DM {self.chat.user_ref(user)}", ack=True)
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


def page_dm(
    pol: Policy,
    incident: Incident,
    values: dict[str, str],
    level: Level,
    targets: Targets,
    user: str,
    channel_link: str,
) -> str:
    """A page's DM: what the incident is, why this person is paged, and where to go."""
    sev = pol.severity(incident.severity)
    label = f"{incident.severity} - {sev.label}" if sev else incident.severity
    lines = [
        f":rotating_light: You are paged for {incident.number} *{values['title']}* ({label}).",
        f"*Impact:* {sev.impact}" if sev else "",
        f"*Why you:* paged as *{level.name}* (through `{targets.why(user)}`): {values['reason']}.",
        f"*Join:* {channel_link}, and press Acknowledge (or `/incident ack` there) "
        "to stop the escalation timer.",
    ]
    return "\n".join(line for line in lines if line)
