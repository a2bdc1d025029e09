"""Use cases: what happens when a responder declares, lists, ... an incident.

Each use case validates first (a mistake changes nothing), writes to the store
before it talks to chat (a crash loses nothing), and carries on past a failing
chat call, reporting what failed instead of aborting the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from bot.clock import Clock
from bot.incidents.channel_names import channel_name, with_suffix
from bot.incidents.chat import INCIDENT_CONTROLS, Chat, ChatError, Message, post_once, step_key
from bot.incidents.errors import IncidentError
from bot.incidents.policy_book import PolicyBook
from bot.incidents.values import incident_values
from bot.planning import due_jobs
from bot.policy.model import Severity
from bot.policy.templates import render
from bot.store.batch import IncidentWriter
from bot.store.repo import Store
from bot.store.tables import Incident, TimelineEntry

log = logging.getLogger(__name__)

MAX_NAME_ATTEMPTS = 50
MAX_TIMEOUTS = 3
# A declaration is accepted right after the ack; one left unaccepted this long was cut
# short by a crash (a slower process that gets there second simply stands back).
ACCEPT_GRACE = timedelta(seconds=10)


@dataclass
class DeclareOutcome:
    incident: Incident
    problems: list[str] = field(default_factory=list)


@dataclass
class Opened:
    """A declaration committed to the store, its channel not yet set up."""

    incident: Incident
    severity: Severity


class Incidents:
    def __init__(self, store: Store, chat: Chat, policy: PolicyBook, clock: Clock) -> None:
        self.store = store
        self.chat = chat
        self.policy = policy
        self.clock = clock
        # Who claims the set-up of a declaration made here, and the rows it is running
        # (the scheduler's: its lease must not take back a set-up that is merely slow).
        self.worker = "incidents"
        self.in_flight: set[int] = set()
        self.writer = IncidentWriter(store)

    # -- declare -------------------------------------------------------------------

    def severity(self, name: str) -> Severity:
        sev = self.policy.policy.severity(name)
        if sev is None:
            names = ", ".join(f"`{s}`" for s in self.policy.policy.severity_names())
            raise IncidentError(f"Unknown severity `{name}`. Use one of: {names}.")
        return sev

    async def declare(self, *, severity: str, title: str, user_id: str) -> DeclareOutcome:
        return await self.set_up(await self.open(severity=severity, title=title, user_id=user_id))

    async def open(self, *, severity: str, title: str, user_id: str) -> Opened:
        """Commit the declaration. Callers acknowledge the declarer only after this: an
        acknowledged declaration that a crash could still lose would be a broken promise.
        Only the incident row is written here (batched with others arriving at the same
        moment: a burst of declarations must still be answered within Slack's 3 s); its
        timeline, clocks and set-up follow in `accept`."""
        sev = self.severity(severity)
        title = " ".join(title.split())
        if not title:
            raise IncidentError(
                "An incident needs a title, e.g. `/incident SEV1 Payment processing down`."
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
        )
        await self.writer.add(incident)
        log.info("declared %s (%s)", incident.number, sev.name)
        return Opened(incident, sev)

    async def accept(self, incident: Incident, worker: str | None) -> int | None:
        """Write a declaration's first timeline line, its clocks and its set-up row
        (claimed by `worker`, or left for the scheduler), all in one transaction. None
        when that was done already: another process accepted it first."""
        assert incident.id is not None
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
                TimelineEntry(
                    incident_id=inc.id or 0,
                    kind="declared",
                    occurred_at=inc.declared_at,
                    author_id=inc.declared_by,
                    text=f"{inc.severity} declared: {inc.title}",
                    key_event=True,
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
        async with self.store.session() as s:
            res = await s.exec(
                select(Incident).where(
                    col(Incident.accepted).is_(False), col(Incident.declared_at) < declared_before
                )
            )
            orphans = list(res.all())
        n = 0
        for incident in orphans:
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
        job = await self.accept(opened.incident, self.worker)
        if job is None:  # the scheduler took it over: this process was too slow
            outcome.problems.append(
                "This process was slow to finish declaring it, so the scheduler took its "
                "set-up over: the channel will appear in a moment (`/incident list` shows it)."
            )
            return outcome
        await self._set_up_channel(outcome, opened.severity, job, None)
        return outcome

    async def resume_setup(self, incident_id: int, job_id: int, retry_since: datetime) -> None:
        """Finish the set-up of a declaration whose process died half way: steps done
        already (channel, announcement, pins, posts) are found and not done again."""
        incident = await self.store.get(incident_id)
        if incident is None:
            return
        sev = (await self.policy.of(incident)).severity(incident.severity)
        if sev is None:  # the severity left the policy meanwhile: keep what was stored
            sev = self.severity(self.policy.policy.severity_names()[0])
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
            await self._set_up_steps(outcome, sev, retry_since)
            if job_id is not None:
                async with self.store.session() as s:
                    await due_jobs.finish(s, job_id, self.clock.now())
                    await s.commit()
        finally:
            if job_id is not None:
                self.in_flight.discard(job_id)

    async def _set_up_steps(
        self, outcome: DeclareOutcome, sev: Severity, retry_since: datetime | None
    ) -> None:
        incident = outcome.incident
        assert incident.id is not None
        pol = await self.policy.of(incident)
        step = f"setup:{incident.id}"
        incident_id = incident.id
        if incident.channel_id is None:
            try:
                channel_id, name = await self._create_channel(incident, sev, retry_since)
            except ChatError as e:
                outcome.problems.append(f"Could not create the incident channel: `{e.code}`.")
                return
            incident = await self.store.update_incident(
                incident_id, channel_id=channel_id, channel_name=name
            )
            outcome.incident = incident
        else:
            channel_id = incident.channel_id

        invitees, problems = await self._invitees(sev, incident.commander_id)
        outcome.problems += problems
        try:
            failed = await self.chat.invite(channel_id, invitees)
            outcome.problems += [
                f"Could not invite {self.chat.user_ref(u)}: `{code}`." for u, code in failed.items()
            ]
        except ChatError as e:
            outcome.problems.append(f"Could not invite responders: `{e.code}`.")

        values = await self.values(incident)
        if pol.channel.topic:
            try:
                await self.chat.set_topic(channel_id, render(pol.channel.topic, values)[:250])
            except ChatError as e:
                outcome.problems.append(f"Could not set the topic: `{e.code}`.")

        text = render(pol.templates.announcement, values)
        if sev.checklist and "{checklist}" not in pol.templates.announcement:
            # The immediate actions ride in the pinned announcement: one post, one pin.
            text += "\n\n*Immediate actions*\n" + "\n".join(f"• {s}" for s in sev.checklist)
        announcement = Message(
            title=f"{incident.number}: {incident.title}",
            text=text,
            incident_id=incident.id,
            controls=INCIDENT_CONTROLS,
            step=step_key(step, channel_id, "announcement"),
        )
        try:
            ts = incident.announcement_ts
            if ts is None:
                ts = await post_once(self.chat, channel_id, announcement, retry_since)
                outcome.incident = await self.store.update_incident(incident_id, announcement_ts=ts)
            await self.chat.pin(channel_id, ts)
        except ChatError as e:
            outcome.problems.append(f"Could not post or pin the announcement: `{e.code}`.")

        if pol.channel.announce and not incident.private:
            text = (
                f"{incident.number} declared: *{self.chat.literal(incident.title)}* "
                f"({sev.name}, {sev.label}). "
                f"Join {self.chat.channel_ref(channel_id)}. "
                f"Commander: {self.chat.user_ref(incident.commander_id)}"
            )
            where = pol.channel.announce
            message = Message(text=text, incident_id=incident.id, step=step_key(step, where))
            try:
                await post_once(self.chat, where, message, retry_since)
            except ChatError as e:
                outcome.problems.append(
                    f"Could not announce in {pol.channel.announce}: `{e.code}`."
                )

        if outcome.problems:
            report = "Incident set up with problems:\n" + "\n".join(
                f"• {p}" for p in outcome.problems
            )
            message = Message(
                text=report, incident_id=incident.id, step=step_key(step, channel_id, "problems")
            )
            try:
                await post_once(self.chat, channel_id, message, retry_since)
            except ChatError:
                log.warning("could not report setup problems in %s", channel_id)

    async def _create_channel(
        self, incident: Incident, sev: Severity, retry_since: datetime | None
    ) -> tuple[str, str]:
        pol = await self.policy.of(incident)
        local = incident.declared_at.astimezone(ZoneInfo(pol.timezone))
        base = channel_name(
            pol.channel.pattern,
            title=incident.title,
            when=local,
            number=incident.id or 0,
            severity=sev.name,
        )
        if retry_since is not None:
            # A crash may have come between creating the channel and storing its id: a
            # channel of ours with one of the names we would try, no incident's yet, is it.
            names = [base] + [with_suffix(base, n) for n in range(2, MAX_NAME_ATTEMPTS + 2)]
            found = await self._orphan(incident, names)
            if found is not None:
                return found
        name = base
        attempt, timeouts = 2, 0
        while attempt < MAX_NAME_ATTEMPTS + 2:
            try:
                return await self.chat.create_channel(name, private=incident.private), name
            except ChatError as e:
                if e.code == "timeout" and timeouts < MAX_TIMEOUTS:
                    # Slack may have created it before the answer was lost: adopt it if
                    # so, else try the same name again.
                    timeouts += 1
                    adopted = await self._orphan(incident, [name])
                    if adopted is not None:
                        return adopted
                    continue
                # Taken names include archived channels; Slack is the only judge of that.
                if e.code != "name_taken":
                    raise
            name = with_suffix(base, attempt)
            attempt += 1
        raise ChatError("name_taken", f"{base} and {MAX_NAME_ATTEMPTS} suffixes are taken")

    async def _orphan(self, incident: Incident, names: list[str]) -> tuple[str, str] | None:
        """A channel the bot created under one of `names` that no incident owns: the one
        this incident's set-up created when Slack's answer (or the process) was lost."""
        ours = await self.chat.own_channels(names)
        for name in names:
            if name in ours and await self.store.by_channel(ours[name]) is None:
                log.info(
                    "%s: adopting #%s, created by an interrupted set-up", incident.number, name
                )
                return ours[name], name
        return None

    async def _invitees(self, sev: Severity, commander: str) -> tuple[list[str], list[str]]:
        users = [commander]
        problems: list[str] = []
        for key in sev.invite:
            contact = self.policy.policy.contacts[key]
            if contact.user:
                users.append(contact.user)
            elif contact.usergroup:
                try:
                    users += await self.chat.group_members(contact.usergroup)
                except ChatError as e:
                    problems.append(f"Could not read the members of `{key}`: `{e.code}`.")
        return list(dict.fromkeys(users)), problems

    async def bot_removed(self, channel_id: str, by: str | None) -> Incident | None:
        """The bot was removed from an incident channel: stop recording that channel
        only (its clocks go on, by DM) and tell the commander why the timeline stops."""
        incident = await self.store.by_channel(channel_id)
        if incident is None or incident.id is None or incident.bot_removed_at is not None:
            return None
        now = self.clock.now()
        async with self.store.session() as s:
            inc = await s.get(Incident, incident.id)
            assert inc is not None
            inc.bot_removed_at = now
            s.add(inc)
            s.add(
                TimelineEntry(
                    incident_id=incident.id,
                    kind="bot_removed",
                    occurred_at=now,
                    author_id=by,
                    text="The bot was removed from the channel: its messages are not recorded",
                    key_event=True,
                )
            )
            await s.commit()
        who = f" by {self.chat.user_ref(by)}" if by else ""
        text = (
            f"I was removed from {self.chat.channel_ref(channel_id)} ({incident.number}){who}, "
            "so I stopped recording its timeline. Reminders and escalations still reach you "
            "here. Invite me back with `/invite @incident-bot` to resume recording."
        )
        try:
            await self.chat.post(incident.commander_id, Message(text=text, incident_id=incident.id))
        except ChatError as e:
            log.warning("could not tell the commander of %s: %s", incident.number, e.code)
        return inc

    # -- queries -------------------------------------------------------------------

    async def values(self, incident: Incident) -> dict[str, str]:
        roles = await self.store.roles(incident.id or 0)
        return incident_values(await self.policy.of(incident), incident, self.chat, roles)

    async def list_open(self, viewer: str) -> Sequence[Incident]:
        """Open incidents, newest first; a private one only for those inside it."""
        open_ = await self.store.list_open()
        return [i for i in open_ if not i.private or viewer in {i.commander_id, i.declared_by}]

    async def in_channel(self, channel_id: str) -> Incident:
        incident = await self.store.by_channel(channel_id)
        if incident is None:
            raise IncidentError(
                "This command works inside an incident channel. Run it there, or use "
                "`/incident list` to find the incident's channel."
            )
        return incident
