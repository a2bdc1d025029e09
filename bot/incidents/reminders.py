"""The update reminder: mention the commander in the channel and DM them, with buttons."""

from __future__ import annotations

import logging
from datetime import datetime

from bot.clock import Clock
from bot.incidents.chat import Chat, Control, Message, step_key
from bot.incidents.outbox import WHILE_OPEN, Outbox, rank
from bot.incidents.policy_book import PolicyBook
from bot.incidents.timeline import TimelineKind, new_entry
from bot.incidents.values import incident_values
from bot.planning import due_jobs
from bot.policy.durations import format_duration
from bot.policy.templates import render
from bot.store.repo import Store
from bot.store.tables import Incident

log = logging.getLogger(__name__)

NAG_CONTROLS = (Control.POST_UPDATE, Control.SNOOZE)


class Nags:
    def __init__(
        self, store: Store, chat: Chat, policy: PolicyBook, clock: Clock, outbox: Outbox
    ) -> None:
        self.store = store
        self.chat = chat
        self.policy = policy
        self.clock = clock
        self.outbox = outbox

    async def nag(
        self, incident_id: int, *, job_id: int | None = None, retry_since: datetime | None = None
    ) -> None:
        """Record one reminder, plan the next one cadence later, and write its channel
        mention and its DM to the outbox, in one transaction: a crash keeps all or none,
        so a re-run after one has nothing to look for (`retry_since` is unused)."""
        incident = await self.store.get(incident_id)
        if incident is None or incident.channel_id is None:
            return
        pol = await self.policy.of(incident)
        values = incident_values(pol, incident, self.chat, await self.store.roles(incident_id))
        text = render(pol.templates.nag, values)
        now = self.clock.now()
        async with self.store.session() as s:
            inc = await s.get(Incident, incident_id)
            assert inc is not None
            inc.last_nag_at = now
            inc.nags_since_update += 1
            inc.snoozed_until = None  # a snooze covers one reminder
            entry = new_entry(
                incident_id,
                TimelineKind.NAG,
                now,
                f"Update reminder {inc.nags_since_update} sent to "
                f"{self.chat.user_ref(inc.commander_id)}",
                data={"commander": inc.commander_id, "count": inc.nags_since_update},
            )
            s.add(entry)
            await s.flush()
            step = f"job:{job_id}" if job_id is not None else f"nag:{entry.id}"
            for where in (incident.channel_id, incident.commander_id):
                msg = Message(text=text, incident_id=incident_id, controls=NAG_CONTROLS)
                await self.outbox.post(
                    s,
                    where,
                    msg,
                    key=step_key(step, where),
                    priority=rank(pol, inc),
                    only_while=WHILE_OPEN,  # resolved meanwhile: a reminder is noise
                )
            await due_jobs.finish(s, job_id, now)
            await due_jobs.replan(s, inc, pol, now)
            await s.commit()
        self.outbox.wake()

    async def monitoring_over(self, incident_id: int, *, job_id: int | None = None) -> None:
        """The policy's monitoring period is over: ask the commander, in the channel and
        by DM, whether to resolve (the Resolve button opens the resolve modal)."""
        incident = await self.store.get(incident_id)
        if incident is None or incident.channel_id is None:
            return
        pol = await self.policy.of(incident)
        sev = pol.severity(incident.severity)
        period = format_duration(sev.monitor_for) if sev and sev.monitor_for else "its period"
        now = self.clock.now()
        async with self.store.session() as s:
            inc = await s.get(Incident, incident_id)
            assert inc is not None
            who = self.chat.user_ref(inc.commander_id)
            entry = new_entry(
                incident_id, TimelineKind.NAG, now, f"Monitoring for {period} is over: asked {who}"
            )
            s.add(entry)
            await s.flush()
            text = (
                f"{who}, {inc.number} has been in *monitoring* for {period}, as the policy "
                "asks. If everything is normal, resolve it."
            )
            step = f"job:{job_id}" if job_id is not None else f"monitored:{entry.id}"
            for where in (inc.channel_id, inc.commander_id):
                if where is None:
                    continue
                await self.outbox.post(
                    s,
                    where,
                    Message(text=text, incident_id=incident_id, controls=(Control.RESOLVE,)),
                    key=step_key(step, where),
                    priority=rank(pol, inc),
                    only_while=WHILE_OPEN,
                )
            await due_jobs.finish(s, job_id, now)
            await due_jobs.replan(s, inc, pol, now)
            await s.commit()
        self.outbox.wake()
