"""After the incident, the commander's follow-through: each step the policy sets
(schedule the review, hold it, publish the postmortem...) is reminded by DM once it is
due, with Done and Snooze buttons, and again until it is marked done.

Like the update reminder: the step's row, its timeline line, its next due row and its
DM commit together, so a crash keeps all or none of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.incidents.chat import Chat, Control, Message, step_key
from bot.incidents.checks import Checks
from bot.incidents.errors import NotAllowed, NothingToDo
from bot.incidents.outbox import Outbox, rank
from bot.incidents.policy_book import PolicyBook
from bot.incidents.timeline import TimelineKind, new_entry
from bot.incidents.values import fmt_time
from bot.planning import due_jobs
from bot.policy.durations import format_duration
from bot.policy.follow_through import FollowStep
from bot.policy.model import Policy
from bot.store import follow_ups
from bot.store.follow_tables import FollowUp
from bot.store.repo import Store
from bot.store.tables import Incident

FOLLOW_CONTROLS = (Control.FOLLOW_DONE, Control.FOLLOW_SNOOZE)
SNOOZE_FOR = timedelta(days=1)


@dataclass(frozen=True)
class Owed:
    """A step still owed by a resolved incident, and when it is (or was) due."""

    incident: Incident
    step: FollowStep
    due_at: datetime
    reminders: int


def steps_for(policy: Policy, incident: Incident) -> list[tuple[int, FollowStep]]:
    """The policy's steps that apply to the incident's severity, with their index."""
    sev = policy.severity(incident.severity)
    return [
        (i, s)
        for i, s in enumerate(policy.follow_through.steps)
        if not s.severities or (sev is not None and any(sev.matches(n) for n in s.severities))
    ]


def owed(policy: Policy, incident: Incident, rows: list[FollowUp]) -> list[Owed]:
    """The steps not done yet; due at resolution + within, or at the next reminder."""
    if incident.resolved_at is None:
        return []
    by_step = {r.step: r for r in rows}
    out = []
    for _, step in steps_for(policy, incident):
        row = by_step.get(step.name)
        if row is not None and row.done_at is not None:
            continue
        due = incident.resolved_at + step.within
        out.append(Owed(incident, step, due, row.reminders if row else 0))
    return out


class FollowThrough:
    def __init__(
        self, store: Store, chat: Chat, policy: PolicyBook, clock: Clock, outbox: Outbox
    ) -> None:
        self.store = store
        self.chat = chat
        self.policy = policy
        self.clock = clock
        self.outbox = outbox
        self.checks = Checks(store, chat, policy)

    async def remind(self, incident_id: int, index: int, job_id: int | None = None) -> None:
        """A step came due (a due row fired): DM the commander, plan the next reminder."""
        incident = await self.store.get(incident_id)
        if incident is None or incident.resolved_at is None:
            return
        pol = await self.policy.of(incident)
        steps = pol.follow_through.steps
        if index >= len(steps):
            return
        step = steps[index]
        now = self.clock.now()
        async with self.store.session() as s:
            inc = await s.get(Incident, incident_id)
            assert inc is not None and inc.resolved_at is not None
            row = await follow_ups.follow_up(s, incident_id, step.name)
            row.reminders += 1
            row.last_reminded_at, row.snoozed_until = now, None
            s.add(row)
            entry = new_entry(
                incident_id,
                TimelineKind.FOLLOW_REMINDER,
                now,
                f"{step.label}: reminder {row.reminders} sent to "
                f"{self.chat.user_ref(inc.commander_id)}",
                data={"step": step.name, "count": row.reminders},
            )
            s.add(entry)
            await s.flush()
            due = inc.resolved_at + step.within
            again = (
                f" I will remind you again in {format_duration(step.repeat_every)}."
                if step.repeat_every
                else ""
            )
            text = (
                f":spiral_note_pad: *{inc.number}* {self.chat.literal(inc.title)} "
                f"(resolved {fmt_time(inc.resolved_at, pol.timezone)}): *{step.label}* was due "
                f"by {fmt_time(due, pol.timezone)}, {format_duration(step.within)} after "
                f"resolution.{again} Press Done once it is done."
            )
            step_id = f"job:{job_id}" if job_id is not None else f"follow:{entry.id}"
            where = inc.commander_id
            await self.outbox.post(
                s,
                where,
                Message(
                    text=text,
                    incident_id=incident_id,
                    controls=FOLLOW_CONTROLS,
                    subject=step.name,
                ),
                key=step_key(step_id, where),
                priority=rank(pol, inc),
            )
            await due_jobs.finish(s, job_id, now)
            await due_jobs.replan(s, inc, pol, now)
            await s.commit()
        self.outbox.wake()

    async def _step(self, incident: Incident, user: str, name: str) -> tuple[Policy, FollowStep]:
        pol = await self.policy.of(incident)
        step = next((st for _, st in steps_for(pol, incident) if st.name == name), None)
        if step is None or incident.resolved_at is None:
            owed = ", ".join(st.name for _, st in steps_for(pol, incident)) or "none"
            when = "" if incident.resolved_at is not None else " (they start once it is resolved)"
            raise NothingToDo(
                f"{incident.number} owes no follow-through step called {name}; "
                f"its steps: {owed}{when}."
            )
        if user != incident.commander_id and not await self.checks.may(incident, user, "update"):
            raise NotAllowed(
                f"The follow-through of {incident.number} is for its commander, "
                f"{self.chat.user_ref(incident.commander_id)}."
            )
        return pol, step

    async def done(self, incident: Incident, user: str, name: str) -> str:
        """Mark a step done: its reminders stop."""
        pol, step = await self._step(incident, user, name)
        now = self.clock.now()
        async with self.store.session() as s:
            row = await follow_ups.follow_up(s, incident.id, step.name)
            if row.done_at is not None:
                return f"*{step.label}* of {incident.number} was already done."
            row.done_at, row.done_by = now, user
            s.add(row)
            s.add(
                new_entry(
                    incident.id,
                    TimelineKind.FOLLOW_DONE,
                    now,
                    f"{step.label}: done",
                    author=user,
                    data={"step": step.name},
                )
            )
            inc = await s.get(Incident, incident.id)
            assert inc is not None
            await due_jobs.replan(s, inc, pol, now)
            await s.commit()
        return f":white_check_mark: *{step.label}* of {incident.number}: done. No more reminders."

    async def snooze(self, incident: Incident, user: str, name: str) -> str:
        """Remind again a day from now (instead of at the next repeat)."""
        pol, step = await self._step(incident, user, name)
        now = self.clock.now()
        until = now + SNOOZE_FOR
        async with self.store.session() as s:
            row = await follow_ups.follow_up(s, incident.id, step.name)
            if row.done_at is not None:
                return f"*{step.label}* of {incident.number} is done already."
            row.snoozed_until = until
            s.add(row)
            inc = await s.get(Incident, incident.id)
            assert inc is not None
            await due_jobs.replan(s, inc, pol, now)
            await s.commit()
        return (
            f"*{step.label}* of {incident.number}: I will remind you again "
            f"{fmt_time(until, pol.timezone)}."
        )
