"""Declaring an incident: open (commit the row before the ack), accept (its first
timeline line, clocks and set-up row), then set up its channel (bot/incidents/setup.py);
and the bot's removal from an incident channel.

Each use case validates first (a mistake changes nothing), writes to the store
before it talks to chat (a crash loses nothing), and carries on past a failing
chat call, reporting what failed instead of aborting the rest.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError

from bot.clock import Clock
from bot.incidents.chat import Chat, Message, step_key
from bot.incidents.errors import MissingText, NotInIncidentChannel
from bot.incidents.outbox import Outbox
from bot.incidents.policy_book import PolicyBook
from bot.incidents.policy_words import severity_named
from bot.incidents.setup import ChannelSetUp, DeclareOutcome
from bot.incidents.timeline import TimelineKind, new_entry
from bot.planning import due_jobs
from bot.policy.model import Severity
from bot.store.batch import IncidentWriter
from bot.store.repo import Store
from bot.store.tables import Incident

log = logging.getLogger(__name__)

# A declaration is accepted right after the ack; one left unaccepted this long was cut
# short by a crash (a slower process that gets there second simply stands back).
ACCEPT_GRACE = timedelta(seconds=10)


@dataclass
class Opened:
    """A declaration committed to the store, its channel not yet set up."""

    incident: Incident
    severity: Severity
    # False when its key was declared already (the same modal submitted twice): the
    # incident is that earlier one, whose own submission answers and sets it up.
    new: bool = True


class Incidents:
    def __init__(
        self, store: Store, chat: Chat, policy: PolicyBook, clock: Clock, outbox: Outbox
    ) -> None:
        self.store = store
        self.chat = chat
        self.policy = policy
        self.clock = clock
        # Who claims the set-up of a declaration made here, and the rows it is running
        # (the scheduler's: its lease must not take back a set-up that is merely slow).
        self.worker = "incidents"
        self.in_flight: set[int] = set()
        # False in a web process: a declaration's set-up is left to a worker's scheduler.
        self.sets_up = True
        self.writer = IncidentWriter(store)
        self.outbox = outbox
        self.setup = ChannelSetUp(store, chat, policy, outbox)

    # -- declare -------------------------------------------------------------------

    async def declare(self, *, severity: str, title: str, user_id: str) -> DeclareOutcome:
        return await self.set_up(await self.open(severity=severity, title=title, user_id=user_id))

    async def open(
        self, *, severity: str, title: str, user_id: str, key: str | None = None
    ) -> Opened:
        """Commit the declaration. Callers acknowledge the declarer only after this: an
        acknowledged declaration that a crash could still lose would be a broken promise.
        Only the incident row is written here (batched with others arriving at the same
        moment: a burst of declarations must still be answered within Slack's 3 s); its
        timeline, clocks and set-up follow in `accept`. A `key` declared already (the
        same modal submitted twice) opens nothing: Opened.new is False."""
        sev = severity_named(self.policy.policy, severity)  # a new incident: the current policy
        title = " ".join(title.split())
        if not title:
            raise MissingText(
                "An incident needs a title, e.g. `/incident SEV1 Payment processing down`.",
                field="title",
            )
        pol = self.policy.policy
        now = self.clock.now()
        incident = Incident(
            title=title,
            severity=sev.name,
            status=pol.statuses.initial,
            private=sev.private,
            commander_id=user_id,
            declared_by=user_id,
            policy_version=self.policy.version,
            declared_at=now,
            severity_since=now,
            accepted=False,
            declaration_key=key,
        )
        if not await self.writer.add(incident):
            stored = await self.store.get(incident.id)
            log.info("%s was declared already by that modal", incident.number)
            return Opened(stored or incident, sev, new=False)
        log.info("declared %s (%s)", incident.number, sev.name)
        return Opened(incident, sev)

    async def accept(self, incident: Incident, worker: str | None) -> int | None:
        """Write a declaration's first timeline line, its clocks and its set-up row
        (claimed by `worker`, or left for the scheduler), all in one transaction. None
        when that was done already: another process accepted it first."""
        pol = await self.policy.of(incident)
        now = self.clock.now()
        async with self.store.session() as s:
            inc = await s.get(Incident, incident.id)
            if inc is None or inc.accepted:
                return None
            inc.accepted = True
            setup = due_jobs.setup_job(inc, now, worker)
            s.add(setup)
            s.add(
                new_entry(
                    inc.id,
                    TimelineKind.DECLARED,
                    inc.declared_at,
                    f"{inc.severity} declared: {inc.title}",
                    author=inc.declared_by,
                )
            )
            try:
                await due_jobs.replan(s, inc, pol, now)
                await s.commit()
            except IntegrityError:  # uq_due_job_step: its set-up row exists already
                await s.rollback()
                return None
        return setup.id

    async def accept_unaccepted(self, declared_before: datetime) -> int:
        """Accept, for the scheduler to set up, the declarations whose process died
        between committing the incident and accepting it."""
        n = 0
        for incident in await self.store.unaccepted(declared_before):
            if await self.accept(incident, None) is not None:
                log.warning(
                    "%s was declared by a process that died: setting it up", incident.number
                )
                n += 1
        return n

    async def set_up(self, opened: Opened) -> DeclareOutcome:
        """Accept a declaration just opened, then create, populate and announce its
        channel."""
        outcome = DeclareOutcome(opened.incident)
        if not self.sets_up:
            await self.accept(opened.incident, None)  # its set-up row waits for a worker
            outcome.pending = (
                "A worker is creating its channel: it appears in a moment "
                "(`/incident list` shows it)."
            )
            return outcome
        job = await self.accept(opened.incident, self.worker)
        if job is None:  # the scheduler took it over: this process was too slow
            outcome.problems.append(
                "This process was slow to finish declaring it, so the scheduler took its "
                "set-up over: the channel will appear in a moment (`/incident list` shows it)."
            )
            return outcome
        await self._set_up_channel(outcome, opened.severity, job, None)
        return outcome

    async def resume_setup(
        self, incident_id: int, job_id: int, retry_since: datetime | None
    ) -> None:
        """Set up a declaration left to the scheduler (by a web process, or one that died
        before accepting it: `retry_since` None, nothing was done), or finish one whose
        process died half way: steps done already (channel, announcement, pins, posts)
        are found and not done again."""
        incident = await self.store.get(incident_id)
        if incident is None:
            return
        sev = (await self.policy.of(incident)).severity(incident.severity)
        if sev is None:  # the severity left the policy meanwhile: keep what was stored
            sev = self.policy.policy.severities[0]
        if retry_since is None:
            log.info("setting up %s", incident.number)
        else:
            log.info("finishing the set-up of %s after a restart", incident.number)
        await self._set_up_channel(DeclareOutcome(incident), sev, job_id, retry_since)

    async def _set_up_channel(
        self,
        outcome: DeclareOutcome,
        sev: Severity,
        job_id: int | None,
        retry_since: datetime | None,
    ) -> None:
        # An exception leaves the row claimed (the lease retries it); a stop waits till done.
        if job_id is not None:
            self.in_flight.add(job_id)
        try:
            await self.setup.run(outcome, sev, retry_since)
            if job_id is not None:
                async with self.store.session() as s:
                    await due_jobs.finish(s, job_id, self.clock.now())
                    await s.commit()
        finally:
            if job_id is not None:
                self.in_flight.discard(job_id)

    async def bot_removed(self, channel_id: str, by: str | None) -> Incident | None:
        """The bot was removed from an incident channel: stop recording that channel
        only (its clocks go on, by DM) and tell the commander why the timeline stops."""
        incident = await self.store.by_channel(channel_id)
        if incident is None or incident.bot_removed_at is not None:
            return None
        now = self.clock.now()
        who = f" by {self.chat.user_ref(by)}" if by else ""
        text = (
            f"I was removed from {self.chat.channel_ref(channel_id)} ({incident.number}){who}, "
            "so I stopped recording its timeline. Reminders and escalations still reach you "
            "here. Invite me back with `/invite @incident-bot` to resume recording."
        )
        async with self.store.session() as s:
            inc = await s.get(Incident, incident.id)
            assert inc is not None
            inc.bot_removed_at = now
            s.add(inc)
            s.add(
                new_entry(
                    incident.id,
                    TimelineKind.BOT_REMOVED,
                    now,
                    "The bot was removed from the channel: its messages are not recorded",
                    author=by,
                )
            )
            # The commander is told with the change: a crash in between loses neither.
            await self.outbox.post(
                s,
                incident.commander_id,
                Message(text=text, incident_id=incident.id),
                key=step_key(f"removed:{incident.id}", incident.commander_id),
            )
            await s.commit()
        self.outbox.wake()
        return inc

    # -- queries -------------------------------------------------------------------

    async def in_channel(self, channel_id: str) -> Incident:
        incident = await self.store.by_channel(channel_id)
        if incident is None:
            raise NotInIncidentChannel(
                "This command works inside an incident channel. Run it there, or use "
                "`/incident list` to find the incident's channel."
            )
        return incident
