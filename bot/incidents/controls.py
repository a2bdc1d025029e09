"""The commander's controls: update, status, severity, ack, hand-over, roles, notes,
escalate, snooze, resolve. Same use case whether it came by command or by button.

Each one checks first (a refusal changes nothing), then changes the incident, its
timeline line and its clocks in one transaction, then talks to chat (a failing post
is logged, never undoes the change).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from bot.clock import Clock
from bot.incidents.chat import INCIDENT_CONTROLS, Chat, ChatError, Message
from bot.incidents.checks import Checks
from bot.incidents.errors import (
    FinalStatus,
    IncidentClosed,
    MissingText,
    NothingToDo,
)
from bot.incidents.escalation import Escalations
from bot.incidents.policy_book import PolicyBook
from bot.incidents.policy_words import role_named, severity_named, status_named
from bot.incidents.timeline import TimelineKind, new_entry
from bot.incidents.values import fmt_time, incident_values
from bot.planning import due_jobs
from bot.policy.durations import format_duration
from bot.policy.permissions import Action as PolicyAction
from bot.policy.templates import render
from bot.store import jobs
from bot.store.repo import Store
from bot.store.tables import Incident, Participant

log = logging.getLogger(__name__)

SNOOZE_CHOICES = (timedelta(minutes=15), timedelta(minutes=30), timedelta(hours=1))


# The channel posts that failed while handling one request (the change itself is kept):
# whoever made the request is told, instead of a plain "done".
_failed_posts: ContextVar[list[str] | None] = ContextVar("failed_posts", default=None)


def collect_failed_posts() -> list[str]:
    """Start collecting, for the current request, the error codes of failed posts."""
    failed: list[str] = []
    _failed_posts.set(failed)
    return failed


class Controls:
    def __init__(
        self,
        store: Store,
        chat: Chat,
        policy: PolicyBook,
        clock: Clock,
        escalations: Escalations,
    ) -> None:
        self.store = store
        self.chat = chat
        self.policy = policy
        self.clock = clock
        self.escalations = escalations
        self.checks = Checks(store, chat, policy)

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
    ) -> Incident:
        now = self.clock.now()
        async with self.store.session() as s:
            inc = await s.get(Incident, incident.id)
            assert inc is not None
            mutate(inc)
            s.add(new_entry(inc.id, kind, now, text, author=user, data=data))
            await due_jobs.replan(s, inc, (await self.policy.of(incident)), now)
            await s.commit()
            return inc

    async def _post(self, incident: Incident, text: str, *, controls: bool = False) -> None:
        if incident.channel_id is None:
            return
        msg = Message(
            text=text, incident_id=incident.id, controls=INCIDENT_CONTROLS if controls else ()
        )
        try:
            await self.chat.post(incident.channel_id, msg)
        except ChatError as e:
            log.warning("post in %s failed: %s", incident.channel_id, e.code)
            failed = _failed_posts.get()
            if failed is not None:
                failed.append(e.code)

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
        now = self.clock.now()

        def apply(inc: Incident) -> None:
            if new_status:
                inc.status = new_status
            inc.last_update_at = now
            inc.nags_since_update = inc.nag_escalations = 0
            inc.snoozed_until = None

        change = (
            {"status": {"from": incident.status, "to": new_status}}
            if new_status and new_status != incident.status
            else None
        )
        inc = await self._change(incident, user, TimelineKind.UPDATE, text, apply, data=change)
        values = incident_values(pol, inc, self.chat, await self.store.roles(inc.id))
        values["update"] = self.chat.literal(text)
        values["now"] = fmt_time(now, pol.timezone)
        values["update_number"] = str(
            len(await self.store.entry_times(inc.id, TimelineKind.UPDATE))
        )
        await self._post(inc, render(pol.templates.update, values))
        return inc

    async def set_status(self, incident: Incident, user: str, status: str) -> Incident:
        await self.checks.check(incident, user, "update")
        pol = await self.policy.of(incident)
        new = status_named(pol, status)
        if new == pol.statuses.final:
            raise FinalStatus("To close the incident use `/incident resolve <summary>`.")

        def apply(inc: Incident) -> None:
            inc.status = new

        old = incident.status
        inc = await self._change(
            incident, user, TimelineKind.STATUS, f"Status {old} → {new}", apply
        )
        await self._post(
            inc,
            f"Status: *{old.capitalize()}* → *{new.capitalize()}* (by {self.chat.user_ref(user)})",
        )
        return inc

    async def set_severity(self, incident: Incident, user: str, severity: str) -> Incident:
        await self.checks.check(incident, user, "severity")
        sev = severity_named(await self.policy.of(incident), severity)
        if sev.name == incident.severity:
            raise NothingToDo(f"{incident.number} is already {sev.name}.", field="severity")
        now = self.clock.now()
        old = incident.severity

        def apply(inc: Incident) -> None:
            inc.severity, inc.severity_since = sev.name, now

        inc = await self._change(
            incident, user, TimelineKind.SEVERITY, f"Severity {old} → {sev.name}", apply
        )
        cadence = format_duration(sev.update_every) if sev.update_every else "as needed"
        await self._post(
            inc,
            f"Severity: *{old}* → *{sev.name}* ({sev.label}) by "
            f"{self.chat.user_ref(user)}. Updates now every {cadence}; "
            "escalation re-planned.",
        )
        return inc

    async def ack(self, incident: Incident, user: str) -> int:
        if incident.resolved_at is not None:
            raise IncidentClosed(f"{incident.number} is resolved: nothing to acknowledge.")
        now = self.clock.now()
        async with self.store.session() as s:
            open_pages = [p for p in await jobs.pages_of(s, incident.id) if p.acked_at is None]
            if not open_pages:
                raise NothingToDo(
                    f"Nothing to acknowledge in {incident.number}: no page "
                    "is waiting for an answer."
                )
            for p in open_pages:
                p.acked_at, p.acked_by = now, user
                s.add(p)
            inc = await s.get(Incident, incident.id)
            assert inc is not None
            inc.acknowledged_at = inc.acknowledged_at or now
            levels = (await self.policy.of(incident)).escalation.levels
            names = ", ".join(levels[p.level].name for p in open_pages if p.level < len(levels))
            s.add(new_entry(inc.id, TimelineKind.ACK, now, f"Acknowledged: {names}", author=user))
            await due_jobs.replan(s, inc, (await self.policy.of(incident)), now)
            await s.commit()
        await self._post(
            inc,
            f":white_check_mark: {self.chat.user_ref(user)} acknowledged "
            f"({names}); that escalation timer stopped.",
        )
        return len(open_pages)

    async def set_commander(self, incident: Incident, by: str, user: str) -> Incident:
        await self.checks.check(incident, by, "commander")
        if user == incident.commander_id:
            raise NothingToDo(f"{self.chat.user_ref(user)} is already the commander.")

        def apply(inc: Incident) -> None:
            inc.commander_id = user

        inc = await self._change(
            incident,
            by,
            TimelineKind.COMMANDER,
            f"Command handed to {self.chat.user_ref(user)}",
            apply,
        )
        await self._invite(inc, user)
        await self._post(
            inc,
            f":crown: {self.chat.user_ref(user)} is now the incident "
            f"commander (handed over by {self.chat.user_ref(by)}).",
        )
        return inc

    async def assign_role(self, incident: Incident, by: str, role: str, user: str) -> Incident:
        await self.checks.check(incident, by, "role")
        pol = await self.policy.of(incident)
        name = role_named(pol, role)
        if name == "commander":
            return await self.set_commander(incident, by, user)
        now = self.clock.now()
        async with self.store.session() as s:
            row = await self.store.role_row(s, incident.id, name)
            if row is None:
                row = Participant(incident_id=incident.id, role=name, user_id=user, assigned_at=now)
            else:
                row.user_id, row.assigned_at = user, now
            s.add(row)
            s.add(
                new_entry(
                    incident.id,
                    TimelineKind.ROLE,
                    now,
                    f"{name}: {self.chat.user_ref(user)}",
                    author=by,
                )
            )
            await s.commit()
        await self._invite(incident, user)
        await self._post(
            incident,
            f"{self.chat.user_ref(user)} is now *{name}* (assigned by {self.chat.user_ref(by)}).",
        )
        return incident

    async def note(self, incident: Incident, user: str, text: str) -> None:
        text = text.strip()
        if not text:
            raise MissingText("A note needs text: `/incident note <what happened>`.")
        async with self.store.session() as s:
            s.add(new_entry(incident.id, TimelineKind.NOTE, self.clock.now(), text, author=user))
            await s.commit()

    async def escalate(self, incident: Incident, user: str, reason: str | None) -> str:
        await self.checks.check(incident, user, "escalate")
        level = await self.escalations.escalate_now(incident.id, by=user, reason=reason)
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
        summary = summary.strip()
        if not summary:
            raise MissingText(
                "Resolving needs a summary: `/incident resolve <what fixed it>`.", field="summary"
            )
        pol = await self.policy.of(incident)
        now = self.clock.now()

        def apply(inc: Incident) -> None:
            inc.resolved_at, inc.summary, inc.status = now, summary, pol.statuses.final

        inc = await self._change(incident, user, TimelineKind.RESOLVE, summary, apply)
        values = incident_values(pol, inc, self.chat, await self.store.roles(inc.id))
        await self._post(inc, render(pol.templates.resolution, values))
        if pol.channel.announce and not inc.private:
            try:
                await self.chat.post(
                    pol.channel.announce,
                    Message(
                        text=f":white_check_mark: {inc.number} resolved: *{values['title']}* "
                        f"({inc.severity}) after {values['duration']}.",
                        incident_id=inc.id,
                    ),
                )
            except ChatError as e:
                log.warning("resolution announcement failed: %s", e.code)
        return inc

    async def _invite(self, incident: Incident, user: str) -> None:
        if incident.channel_id:
            failed = await self.chat.invite(incident.channel_id, [user])
            if failed:
                log.warning("could not invite %s: %s", user, failed)
