"""Changing an incident's severity applies the new severity's set-up, as if it had been
declared so: its invitees are invited, its immediate actions posted (once per severity),
its cadence and escalation planned from the change (a level paged "at declaration" for
it is paged now, saying the severity was raised), and the announcement channel told
when the policy asks. A private severity makes the incident private from then on, and
moves it to a private channel (bot/incidents/private_move.py); lowering it again never
makes it public.

The checks, the change, its timeline line, its clocks and every message are one
transaction, as for every control (bot/incidents/controls.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import Clock
from bot.incidents.chat import Chat, Message, step_key
from bot.incidents.errors import NothingToDo
from bot.incidents.invitees import severity_invitees
from bot.incidents.oncall import OnCallBook
from bot.incidents.outbox import Outbox, rank
from bot.incidents.policy_book import PolicyBook
from bot.incidents.policy_words import severity_named
from bot.incidents.private_move import Move, PrivateMove
from bot.incidents.timeline import TimelineKind, new_entry
from bot.planning import due_jobs
from bot.policy.durations import format_duration
from bot.policy.model import Contact, Policy, Severity
from bot.store.repo import Store
from bot.store.tables import Incident

# (where, text) posts, "" meaning the incident channel (Controls.Said).
Said = list[tuple[str, str]]
# Controls._tell: a change's posts, invites and summary refresh, in its transaction.
Tell = Callable[[AsyncSession, Policy, Incident, int, Said, Sequence[str]], Awaitable[None]]


def direction(pol: Policy, old: str, new: str) -> str:
    """'raised' or 'lowered': the policy lists severities most severe first."""
    names = pol.severity_names()
    if old not in names or new not in names:
        return "changed"
    return "raised" if names.index(new) < names.index(old) else "lowered"


class SeverityChange:
    def __init__(
        self,
        store: Store,
        chat: Chat,
        policy: PolicyBook,
        clock: Clock,
        outbox: Outbox,
        tell: Tell,
        oncall: OnCallBook | None = None,
    ) -> None:
        self.store = store
        self.chat = chat
        self.policy = policy
        self.clock = clock
        self.outbox = outbox
        self.tell = tell
        self.oncall = oncall  # who is on call, for a severity inviting a schedule
        self.mover = PrivateMove(store, chat, outbox)

    async def run(self, incident: Incident, user: str, severity: str) -> Incident:
        """The caller has checked the permission; a refusal here changes nothing."""
        pol = await self.policy.of(incident)
        sev = severity_named(pol, severity)
        if sev.name == incident.severity:
            raise NothingToDo(
                f"{incident.number} is already {sev.name}. To change it, name another "
                f"severity: {', '.join(n for n in pol.severity_names() if n != sev.name)}.",
                field="severity",
            )
        old = incident.severity
        # Reads (and the private channel, made in Slack) before the transaction.
        now = self.clock.now()
        book = self.oncall

        async def on_call(contact: Contact) -> str | None:  # on call at the change
            assert book is not None
            return await book.paged(pol, contact, now)

        invitees, problems = await severity_invitees(
            self.chat, pol, sev, on_call=on_call if book else None
        )
        move: Move | None = None
        if sev.private and not incident.private:
            move = await self.mover.prepare(incident)
        async with self.store.session() as s:
            inc = await s.get(Incident, incident.id)
            assert inc is not None
            inc.severity, inc.severity_since = sev.name, now
            inc.private = inc.private or sev.private  # lowering never makes it public
            entry = new_entry(
                inc.id,
                TimelineKind.SEVERITY,
                now,
                f"Severity {old} → {sev.name}",
                author=user,
                data={"from": old, "to": sev.name},
            )
            s.add(entry)
            await s.flush()
            if move is not None:
                # The new channel's announcement first: the summary's edits follow it.
                await self.mover.apply(s, pol, inc, move, user, invitees)
            await due_jobs.replan(s, inc, pol, now)
            said = self._said(pol, inc, old, sev, user, problems)
            await self.tell(s, pol, inc, entry.id, said, invitees)
            await self._checklist(s, pol, inc, sev)
            await s.commit()
        self.outbox.wake()
        return inc

    def _said(
        self,
        pol: Policy,
        inc: Incident,
        old: str,
        sev: Severity,
        user: str,
        problems: list[str],
    ) -> Said:
        cadence = format_duration(sev.update_every) if sev.update_every else "as needed"
        respond = (
            f" Respond within {format_duration(sev.response_time)}." if sev.response_time else ""
        )
        line = (
            f"Severity: *{old}* → *{sev.name}* ({sev.label}) by "
            f"{self.chat.user_ref(user)}. Updates now every {cadence}.{respond} "
            "Escalation re-planned."
        )
        said: Said = [("", line)]
        if problems:
            said.append(("", "Problems:\n" + "\n".join(f"• {p}" for p in problems)))
        previous = pol.severity(old)
        broadcast = sev.broadcast_updates or (previous is not None and previous.broadcast_updates)
        if pol.channel.announce and broadcast and not inc.private and inc.channel_id:
            said.append(
                (
                    pol.channel.announce,
                    f"{inc.number} severity {direction(pol, old, sev.name)}: *{old}* → "
                    f"*{sev.name}* ({sev.label}): *{self.chat.literal(inc.title)}*. "
                    f"Follow it in {self.chat.channel_ref(inc.channel_id)}.",
                )
            )
        return said

    async def _checklist(self, s: AsyncSession, pol: Policy, inc: Incident, sev: Severity) -> None:
        """The severity's immediate actions, posted once per severity per incident (a
        severity raised, lowered and raised again does not post them twice)."""
        if not sev.checklist or inc.channel_id is None:
            return
        text = f"*Immediate actions for {sev.name}*\n" + "\n".join(f"• {c}" for c in sev.checklist)
        await self.outbox.post(
            s,
            inc.channel_id,
            Message(text=text, incident_id=inc.id),
            key=step_key(f"severity:{inc.id}:{sev.name}", "checklist"),
            priority=rank(pol, inc),
            problem="could not post the immediate actions",
            report="Problems",
        )
