"""The update reminder: mention the commander in the channel and DM them, with buttons."""

from __future__ import annotations

import logging
from datetime import datetime

from bot.clock import Clock
from bot.incidents.chat import Chat, ChatError, Control, Message, post_once, step_key
from bot.incidents.policy_book import PolicyBook
from bot.incidents.timeline import TimelineKind, new_entry
from bot.incidents.values import incident_values
from bot.planning import due_jobs
from bot.policy.templates import render
from bot.store.repo import Store
from bot.store.tables import Incident

log = logging.getLogger(__name__)

NAG_CONTROLS = (Control.POST_UPDATE, Control.SNOOZE)


class Nags:
    def __init__(self, store: Store, chat: Chat, policy: PolicyBook, clock: Clock) -> None:
        self.store = store
        self.chat = chat
        self.policy = policy
        self.clock = clock

    async def nag(
        self, incident_id: int, *, job_id: int | None = None, retry_since: datetime | None = None
    ) -> None:
        """Send one reminder, then record it and plan the next one cadence later.
        `retry_since`: a re-run after a crash; what already went out is not sent again."""
        incident = await self.store.get(incident_id)
        if incident is None or incident.channel_id is None:
            return
        pol = await self.policy.of(incident)
        values = incident_values(pol, incident, self.chat, await self.store.roles(incident_id))
        text = render(pol.templates.nag, values)
        for where in (incident.channel_id, incident.commander_id):
            step = step_key(f"job:{job_id}", where) if job_id is not None else None
            msg = Message(text=text, incident_id=incident_id, controls=NAG_CONTROLS, step=step)
            try:
                await post_once(self.chat, where, msg, retry_since)
            except ChatError as e:
                log.warning("reminder for %s to %s failed: %s", incident.number, where, e.code)
        await self._record(incident_id, job_id, self.clock.now())

    async def _record(self, incident_id: int, job_id: int | None, now: datetime) -> None:
        async with self.store.session() as s:
            inc = await s.get(Incident, incident_id)
            assert inc is not None
            inc.last_nag_at = now
            inc.nags_since_update += 1
            inc.snoozed_until = None  # a snooze covers one reminder
            s.add(
                new_entry(
                    incident_id,
                    TimelineKind.NAG,
                    now,
                    f"Update reminder {inc.nags_since_update} sent to "
                    f"{self.chat.user_ref(inc.commander_id)}",
                    data={"commander": inc.commander_id, "count": inc.nags_since_update},
                )
            )
            await due_jobs.finish(s, job_id, now)
            await due_jobs.replan(s, inc, await self.policy.of(inc), now)
            await s.commit()
