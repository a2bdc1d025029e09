"""Chat side effects as rows, written in the caller's transaction.

A use case that changes an incident says here what the chat must be told (a post, an
edit of the pinned summary, an invite, a topic, a pin) inside the transaction of the
change: the change and its messages commit together or not at all, and a worker
delivers them afterwards (bot/deliverer.py). A crash between the commit and Slack
loses nothing; a row enqueued twice under one key is one row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.incidents import drills
from bot.incidents.chat import Control, Message
from bot.policy.model import Policy
from bot.store.outbox import enqueue
from bot.store.tables import Incident, OutboxRow


class Op(StrEnum):
    POST = "post"
    EDIT = "edit"
    INVITE = "invite"
    TOPIC = "topic"
    PIN = "pin"
    USERGROUP = "usergroup"  # set a user group's members (an on-call schedule's)
    PAGERDUTY = "pagerduty"  # an Events API v2 event (bot/incidents/alerts.py)
    OPSGENIE = "opsgenie"  # an Alert API call
    ARCHIVE = "archive"
    EMAIL = "email"  # a status-page update to a subscriber (bot/mail.py sends it)


def message_payload(message: Message) -> dict[str, Any]:
    return {
        "text": message.text,
        "title": message.title,
        "incident_id": message.incident_id,
        "controls": [c.value for c in message.controls],
        "context": message.context,
        **({"subject": message.subject} if message.subject else {}),
    }


def message_from(payload: dict[str, Any], step: str | None) -> Message:
    return Message(
        text=str(payload.get("text") or ""),
        title=payload.get("title"),
        incident_id=payload.get("incident_id"),
        controls=tuple(Control(c) for c in payload.get("controls") or ()),
        context=payload.get("context"),
        step=step,
        subject=payload.get("subject"),
    )


# Names of the hooks the deliverer runs (bot/incidents/delivery_problems.py).
REPORT_INVITES = "report_invites"
# The announcement is posted: its ts goes on the incident (bot/incidents/setup.py).
ANNOUNCED = "announced"
# A guard: send only while the row's incident is open.
WHILE_OPEN = "open"
# A guard: send only while the row's incident may be public (a status-page update to a
# subscriber is not sent once the incident was withdrawn, made private).
WHILE_PUBLIC = "public"
# A guard: only once the row's incident is resolved (an archive: bot/incidents/archive.py).
WHILE_RESOLVED = "resolved"


def rank(policy: Policy, incident: Incident) -> int:
    """An incident's rows' priority: its severity's place in the policy, most severe
    (listed first) lowest; a severity gone from the policy last."""
    names = policy.severity_names()
    return names.index(incident.severity) if incident.severity in names else len(names)


class Outbox:
    """Enqueues rows; `priority` orders different conversations' rows (lower first: the
    most severe incident's), never one conversation's, which go in the order written.

    `report` and `problem` say how a failed delivery is told in the incident channel
    ("Escalation problems: could not DM @ana: `user_not_found`")."""

    def __init__(self, now: Callable[[], datetime], refs: drills.Refs | None = None) -> None:
        # The domain clock's `now`, for created_at; a row may go at once (due_at None).
        self._now = now
        # How a drill's note names who would have been paged (the Chat port).
        self._refs = refs or drills.PlainRefs()
        self._wakers: list[Callable[[], None]] = []

    def on_commit(self, wake: Callable[[], None]) -> None:
        """Who to wake once rows are committed (this process's deliverer)."""
        self._wakers.append(wake)

    def wake(self) -> None:
        """Call after committing rows: a deliverer in this process sends them now."""
        for wake in self._wakers:
            wake()

    async def _add(
        self,
        s: AsyncSession,
        op: Op | str,
        where: str,
        key: str,
        payload: dict[str, Any],
        *,
        incident_id: int | None,
        priority: int,
        coalesce: str | None = None,
    ) -> OutboxRow | None:
        now = self._now()
        row = OutboxRow(
            incident_id=incident_id,
            conversation=where,
            op=str(op),
            payload=payload,
            key=key,
            coalesce=coalesce,
            priority=priority,
            created_at=now,
        )
        incident = await s.get(Incident, incident_id) if incident_id is not None else None
        if incident is not None and incident.drill:
            # The one place a drill is kept from reaching anyone but its declarer.
            written = [await enqueue(s, r) for r in drills.rewrite(incident, row, self._refs)]
            return next((r for r in written if r is not None), None)
        return await enqueue(s, row)

    async def call(
        self,
        s: AsyncSession,
        op: str,
        lane: str,
        payload: dict[str, Any],
        *,
        key: str,
        incident_id: int | None,
        priority: int = 100,
    ) -> OutboxRow | None:
        """A call to another service (a tracker...), made by the sender the deliverer has
        under `op` (Deliverer.senders); `lane` orders it among that service's calls.
        `payload["then"]` names a hook run when it succeeded, as for a post."""
        return await self._add(
            s, op, lane, key, payload, incident_id=incident_id, priority=priority
        )

    async def post(
        self,
        s: AsyncSession,
        where: str,
        message: Message,
        *,
        key: str,
        priority: int = 100,
        then: str | None = None,
        render: str | None = None,
        args: dict[str, Any] | None = None,
        problem: str | None = None,
        report: str | None = None,
        only_while: str | None = None,
    ) -> OutboxRow | None:
        """A message to a channel or a person (a user id: a DM). `then` names a hook run
        in the transaction that marks it delivered (e.g. store the announcement's ts);
        `render` names a renderer that makes the message at delivery time instead (from
        `args`; `message` is what the row shows meanwhile)."""
        payload: dict[str, Any] = {"message": message_payload(message)}
        if then:
            payload["then"] = then
        if render:
            payload["render"] = render
            payload["args"] = args or {}
        if problem and report:
            payload.update(problem=problem, report=report)
        if only_while:
            payload["only_while"] = only_while
        return await self._add(
            s,
            Op.POST,
            where,
            key,
            payload,
            incident_id=message.incident_id,
            priority=priority,
        )

    async def edit(
        self,
        s: AsyncSession,
        where: str,
        *,
        key: str,
        render: str,
        args: dict[str, Any],
        incident_id: int | None,
        ts: str | None = None,
        ts_from: str | None = None,
        priority: int = 100,
    ) -> OutboxRow | None:
        """Edit a message in place, its content made by `render` when delivered: pending
        edits of one message coalesce, and the one delivered shows the state of then."""
        payload: dict[str, Any] = {"render": render, "args": args, "ts": ts, "ts_from": ts_from}
        target = ts or ts_from
        return await self._add(
            s,
            Op.EDIT,
            where,
            key,
            payload,
            incident_id=incident_id,
            priority=priority,
            coalesce=f"edit:{where}:{target}",
        )

    async def invite(
        self,
        s: AsyncSession,
        channel: str,
        users: Sequence[str],
        *,
        key: str,
        incident_id: int | None,
        priority: int = 100,
        report: str | None = None,
        lane: str | None = None,
    ) -> OutboxRow | None:
        """Invite people; with `report`, those who could not be invited are named in
        the channel afterwards (Slack says who, and why, only when it is done). `lane`:
        deliver it in an order of its own, beside the channel's posts, not behind them."""
        payload: dict[str, Any] = {"users": list(dict.fromkeys(users))}
        if report:
            payload.update(then=REPORT_INVITES, report=report, problem="could not invite")
        if lane:
            payload["to"] = channel
        return await self._add(
            s,
            Op.INVITE,
            lane or channel,
            key,
            payload,
            incident_id=incident_id,
            priority=priority,
        )

    async def topic(
        self,
        s: AsyncSession,
        channel: str,
        topic: str,
        *,
        key: str,
        incident_id: int | None,
        priority: int = 100,
        report: str | None = None,
        lane: str | None = None,
        render: str | None = None,
        args: dict[str, Any] | None = None,
    ) -> OutboxRow | None:
        """Set a channel's topic; with `render`, the topic is the text its renderer makes
        at delivery time, and pending refreshes of one channel's topic coalesce."""
        # Slack refuses a topic over 250 characters.
        payload: dict[str, Any] = {"topic": topic[:250]}
        if report:
            payload.update(report=report, problem="could not set the topic")
        if lane:
            payload["to"] = channel
        if render:
            payload.update(render=render, args=args or {})
        return await self._add(
            s,
            Op.TOPIC,
            lane or channel,
            key,
            payload,
            incident_id=incident_id,
            priority=priority,
            coalesce=f"topic:{channel}" if render else None,
        )

    async def usergroup(
        self, s: AsyncSession, group: str, users: Sequence[str], *, key: str
    ) -> OutboxRow | None:
        """Make a user group's members `users`; its rows go in order in a lane of their
        own, so the last one written is the membership that stays."""
        payload: dict[str, Any] = {"usergroup": group, "users": list(dict.fromkeys(users))}
        return await self._add(
            s, Op.USERGROUP, f"usergroup:{group}", key, payload, incident_id=None, priority=50
        )

    async def alert(
        self,
        s: AsyncSession,
        op: Op,
        lane: str,
        payload: dict[str, Any],
        *,
        key: str,
        incident_id: int,
        priority: int,
    ) -> OutboxRow | None:
        """A call to a paging service (bot/incidents/alerts.py says what it carries)."""
        return await self._add(
            s, op, lane, key, payload, incident_id=incident_id, priority=priority
        )

    async def pin(
        self,
        s: AsyncSession,
        channel: str,
        *,
        key: str,
        incident_id: int | None,
        ts: str | None = None,
        ts_from: str | None = None,
        priority: int = 100,
        report: str | None = None,
    ) -> OutboxRow | None:
        """Pin a message: by its ts, or (`ts_from`) the one a post row of this
        conversation delivered, which goes first since a conversation goes in order."""
        payload: dict[str, Any] = {"ts": ts, "ts_from": ts_from}
        if report:
            payload.update(report=report, problem="could not pin the announcement")
        return await self._add(
            s,
            Op.PIN,
            channel,
            key,
            payload,
            incident_id=incident_id,
            priority=priority,
        )

    async def archive(
        self,
        s: AsyncSession,
        channel: str,
        *,
        key: str,
        incident_id: int | None,
        priority: int = 100,
        report: str | None = None,
        only_while: str | None = None,
    ) -> OutboxRow | None:
        """Archive a channel, after the rows written to it before (its pointer post, its
        last message); a refusal is reported in the incident's channel of then
        (delivery_problems.py)."""
        payload: dict[str, Any] = {"only_while": only_while} if only_while else {}
        if report:
            payload.update(report=report, problem="could not archive the old channel")
        return await self._add(
            s, Op.ARCHIVE, channel, key, payload, incident_id=incident_id, priority=priority
        )

    async def email(
        self,
        s: AsyncSession,
        to: str,
        subject: str,
        body: str,
        *,
        sender: str | None,
        key: str,
        incident_id: int | None,
        priority: int = 100,
        problem: str | None = None,
        report: str | None = None,
        only_while: str | None = None,
    ) -> OutboxRow | None:
        """An e-mail to one address, in that address's own order (lane `mailto:...`)."""
        payload: dict[str, Any] = {"to": to, "subject": subject, "body": body, "from": sender}
        if problem and report:
            payload.update(problem=problem, report=report)
        if only_while:
            payload["only_while"] = only_while
        return await self._add(
            s,
            Op.EMAIL,
            f"mailto:{to}",
            key,
            payload,
            incident_id=incident_id,
            priority=priority,
        )
