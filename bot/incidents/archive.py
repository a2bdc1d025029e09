"""Archiving a resolved incident's channel, the policy's `channel.archive_after` after
its resolution: a due row like a reminder (planned by bot/planning/planner.py, so it
survives restarts and fires once across replicas), which writes a last message and then
the archive to the outbox, in the channel's own order. Never while the incident is
open: the planner plans it from the resolution only, and the outbox's guard checks
again when it is delivered."""

from __future__ import annotations

import logging
from datetime import datetime

from bot.clock import Clock
from bot.incidents.chat import Message, step_key
from bot.incidents.outbox import WHILE_RESOLVED, Outbox, rank
from bot.incidents.policy_book import PolicyBook
from bot.incidents.timeline import TimelineKind, new_entry
from bot.planning import due_jobs
from bot.policy.durations import format_duration
from bot.store.repo import Store
from bot.store.tables import Incident, OutboxRow

log = logging.getLogger(__name__)


class Archives:
    def __init__(self, store: Store, policy: PolicyBook, clock: Clock, outbox: Outbox) -> None:
        self.store = store
        self.policy = policy
        self.clock = clock
        self.outbox = outbox

    async def archive(
        self, incident_id: int, *, job_id: int | None = None, retry_since: datetime | None = None
    ) -> None:
        """Record it and write the last message and the archive, in one transaction (a
        crash keeps all or none: `retry_since` has nothing to look for)."""
        incident = await self.store.get(incident_id)
        if incident is None or incident.channel_id is None or incident.resolved_at is None:
            return
        pol = await self.policy.of(incident)
        now = self.clock.now()
        channel = incident.channel_id
        after = format_duration(now - incident.resolved_at)
        text = (
            f"{incident.number} was resolved {after} ago: archiving this channel, as the "
            "policy asks. Its timeline and postmortem stay with the bot (`export`)."
        )
        async with self.store.session() as s:
            inc = await s.get(Incident, incident_id)
            assert inc is not None
            entry = new_entry(incident_id, TimelineKind.ARCHIVED, now, f"#{inc.channel_name}")
            s.add(entry)
            await s.flush()
            step = f"job:{job_id}" if job_id is not None else f"archive:{entry.id}"
            priority = rank(pol, inc)
            await self.outbox.post(
                s,
                channel,
                Message(text=text, incident_id=incident_id),
                key=step_key(step, channel, "last"),
                priority=priority,
                only_while=WHILE_RESOLVED,
            )
            await self.outbox.archive(
                s,
                channel,
                key=step_key(step, channel, "archive"),
                incident_id=incident_id,
                priority=priority,
                only_while=WHILE_RESOLVED,
            )
            await due_jobs.finish(s, job_id, now)
            await due_jobs.replan(s, inc, pol, now)
            await s.commit()
        log.info("%s: archiving #%s", incident.number, incident.channel_name)
        self.outbox.wake()

    async def while_resolved(self, row: OutboxRow) -> bool:
        """Guard: is the row's incident resolved (an open one keeps its channel)?"""
        if row.incident_id is None:
            return False
        incident = await self.store.get(row.incident_id)
        return incident is not None and incident.resolved_at is not None
