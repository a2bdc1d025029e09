"""Acknowledging pages: the Acknowledge button and `/incident ack` acknowledge the open
pages addressed to the person (directly or through a user group, as each page recorded
it: bot/incidents/paging_targets.py) and stop their timers; another level's page stays
open. The first acknowledgement is the incident's time to acknowledge."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.incidents import paging_targets
from bot.incidents.errors import IncidentClosed, NothingToDo
from bot.incidents.timeline import TimelineKind, new_entry
from bot.planning import due_jobs
from bot.store import jobs
from bot.store.tables import Incident

if TYPE_CHECKING:
    from bot.incidents.controls import Controls


async def acknowledge(c: Controls, incident: Incident, user: str) -> int:
    """Acknowledge the open pages addressed to `user` (directly, or through a user
    group); another level's page stays open, with its timer. How many."""
    if incident.resolved_at is not None:
        raise IncidentClosed(f"{incident.number} is resolved: nothing to acknowledge.")
    now = c.clock.now()
    pol = await c.policy.of(incident)
    levels = pol.escalation.levels

    def name(level: int) -> str:
        return levels[level].name if level < len(levels) else f"level {level + 1}"

    async with c.store.session() as s:
        waiting = [p for p in await jobs.pages_of(s, incident.id) if p.acked_at is None]
    if not waiting:
        raise NothingToDo(
            f"Nothing to acknowledge in {incident.number}: no page is waiting for an answer."
        )
    # Group members are asked before the transaction (no Slack call inside it).
    # A drill's pages all reached its declarer (bot/incidents/drills.py): theirs to answer.
    practising = incident.drill and user == incident.declared_by
    mine_ids = {
        p.id
        for p in waiting
        if practising or await paging_targets.addresses(p.targets, user, c.chat.group_members)
    }
    if not mine_ids:
        others = ", ".join(name(p.level) for p in waiting)
        raise NothingToDo(
            f"No page of {incident.number} is addressed to you: waiting for {others}. "
            "Those paged acknowledge their own pages; `/incident escalate` pages more."
        )
    async with c.store.session() as s:
        # Read again in the transaction: acknowledged meanwhile counts once.
        mine = [
            p
            for p in await jobs.pages_of(s, incident.id)
            if p.id in mine_ids and p.acked_at is None
        ]
        if not mine:
            raise NothingToDo(f"Your pages in {incident.number} are already acknowledged.")
        for p in mine:
            p.acked_at, p.acked_by = now, user
            s.add(p)
        inc = await s.get(Incident, incident.id)
        assert inc is not None
        inc.acknowledged_at = inc.acknowledged_at or now  # the incident's time to ack
        names = ", ".join(name(p.level) for p in mine)
        entry = new_entry(
            inc.id,
            TimelineKind.ACK,
            now,
            f"Acknowledged: {names}",
            author=user,
            data={"levels": [p.level for p in mine]},
        )
        s.add(entry)
        await s.flush()
        await due_jobs.replan(s, inc, pol, now)
        # Acknowledged in Slack: those pages' alerts are acknowledged at the paging
        # services too (another level's alert stays open, like its page).
        await c.escalations.alerts.send(s, pol, inc, [p.level for p in mine], "acknowledge")
        line = (
            f":white_check_mark: {c.chat.user_ref(user)} acknowledged "
            f"({names}); that escalation timer stopped."
        )
        await c._tell(s, pol, inc, entry.id, [("", line)])
        await s.commit()
    c.outbox.wake()
    return len(mine)
