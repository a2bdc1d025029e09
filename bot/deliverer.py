"""Delivers the outbox: claims rows the way the scheduler claims reminders, and tells
the chat what they say.

- Once: a row is claimed with a conditional UPDATE before anything is sent, and marked
  done with what Slack gave back. A claim whose process died is handed back after a
  lease; a post delivered again first looks for itself in the conversation's history
  (its key rides along as message metadata), so it is never sent twice.
- In order, paced: a conversation's rows go one at a time in the order written, at
  Slack's pace (about one post a second, short bursts allowed), with the pace kept in
  the database so that every worker keeps to one budget. One conversation's pace never
  holds up another's: the claim skips conversations that must wait.
- Most severe first: across conversations, by priority, then by how overdue.
- Its clock is the scheduler's (leases, retries, pace); rows are written to go at once.
- A transient error (429, 5xx, timeout) is tried again later with a growing wait; a
  permanent one (not_in_channel, channel_not_found, ...) is kept as failed, with its
  reason, and reported to whoever listens (the incident's problems).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import Clock
from bot.incidents.chat import CLOCK_SKEW, Chat, ChatError, Message, post_once
from bot.incidents.outbox import Op, message_from
from bot.store.group_commit import GroupCommit
from bot.store.outbox import Finished, OutboxStore, Spend
from bot.store.tables import OutboxRow

log = logging.getLogger(__name__)

# Codes after which the same call may well succeed later.
TRANSIENT = frozenset(
    {
        "timeout",
        "ratelimited",
        "rate_limited",
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "connection_error",
        # An SMTP server's "try again later" (4xx).
        *(f"smtp_{code}" for code in range(400, 500)),
    }
)
MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=2)
LONGEST_RETRY = timedelta(minutes=5)
TICK_SECONDS = 0.25

# A renderer makes a row's message at delivery time (the pinned summary shows the state
# of the moment it is sent, not of the moment it was asked for); None: nothing to send.
Renderer = Callable[[dict[str, Any]], Awaitable[Message | None]]
# A hook runs in the transaction that marks a row delivered (e.g. store a post's ts).
DoneHook = Callable[[AsyncSession, OutboxRow, dict[str, Any]], Awaitable[None]]
FailedHook = Callable[[OutboxRow, str], Awaitable[None]]
# A guard says whether a row is still worth sending (a reminder for an incident resolved
# since it was written is not); a row it turns down is finished, not sent.
Guard = Callable[[OutboxRow], Awaitable[bool]]
# Makes a row of another op than the chat's (a tracker, PagerDuty); returns its result,
# raises ChatError (a code in TRANSIENT is tried again later).
Sender = Callable[[OutboxRow], Awaitable[dict[str, Any]]]


class Mailer(Protocol):
    """Sends one e-mail (bot/mail.py); raises ChatError as the chat does."""

    async def send(
        self, to: str, subject: str, body: str, *, sender: str | None, key: str
    ) -> str: ...


@dataclass(frozen=True)
class Pace:
    """A token bucket: `burst` posts at once, then `per_second`."""

    per_second: float = 1.0
    burst: int = 4

    def spend(
        self, tokens: float | None, stamp: datetime | None, now: datetime
    ) -> tuple[float, datetime, datetime | None]:
        """After one post at `now`: (tokens left, now, when the next may go or None)."""
        have = float(self.burst) if tokens is None or stamp is None else tokens
        if stamp is not None:
            have = min(float(self.burst), have + (now - stamp).total_seconds() * self.per_second)
        left = have - 1
        wait = None if left >= 1 else now + timedelta(seconds=(1 - left) / self.per_second)
        return left, now, wait


def is_person(conversation: str) -> bool:
    """A DM (to a user id) is not paced like a channel: one person paged for many
    incidents must not hold up the rest; Slack's 429s there are retried."""
    return conversation[:1] in {"U", "W", "D"}


class Deliverer:
    def __init__(
        self,
        outbox: OutboxStore,
        chat: Chat,
        clock: Clock,
        *,
        worker: str,
        lease: timedelta = timedelta(minutes=2),
        batch: int = 100,
        concurrency: int = 16,
        pace: Pace | None = None,
    ) -> None:
        self.outbox = outbox
        self.chat = chat
        self.clock = clock
        self.worker = worker
        self.lease = lease
        self.batch = batch
        self.pace = pace or Pace()
        self.renderers: dict[str, Renderer] = {}
        self.on_done: dict[str, DoneHook] = {}
        self.on_failed: list[FailedHook] = []
        self.guards: dict[str, Guard] = {}
        # E-mail rows (Op.EMAIL) go through it; None: SMTP_URL is not set.
        self.mailer: Mailer | None = None
        # Ops delivered to services other than the chat, by op name.
        self.senders: dict[str, Sender] = {}
        # Rows this process is delivering right now: never "dead", however long they take.
        self.in_flight: set[int] = set()
        self.concurrency = concurrency
        self._wake = asyncio.Event()
        self._stopping = False
        self._lock = asyncio.Lock()
        self._loop: asyncio.Task[None] | None = None
        self._kick: asyncio.Task[None] | None = None
        self._again = False
        # Deliveries that end together are marked done in one transaction.
        self._finish: GroupCommit[Finished] = GroupCommit(outbox.finish_many)

    # -- driving -----------------------------------------------------------------------

    def start(self) -> None:
        """Deliver from now on: at every wake-up, and every tick for other processes' rows."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop().create_task(self.run_forever())

    @property
    def running(self) -> bool:
        """Is the delivery loop on (started by `start`)?"""
        return self._loop is not None

    def wake(self) -> None:
        """Rows were committed: deliver now rather than at the next tick. Without the
        loop (a process that only answers requests in tests), a pass runs in the
        background: what this process wrote is still sent at once."""
        self._wake.set()
        if self._loop is not None or self._stopping:
            return
        if self._kick is None or self._kick.done():
            self._kick = asyncio.get_running_loop().create_task(self._kicked())
        else:
            self._again = True

    async def _kicked(self) -> None:
        while True:
            self._again = False
            try:
                await self.run_once()
            except Exception:
                log.exception("outbox pass failed; the next wake-up tries again")
            if not self._again:
                return

    async def run_once(self) -> int:
        """Deliver every row that may go now; returns how many were handled.

        A pipeline, not passes: whenever a delivery ends, the rows it unblocked (the pin
        behind its announcement, a channel's next post) and any others are claimed at
        once, up to the concurrency, instead of waiting for the slowest of a batch."""
        async with self._lock:
            now = self.clock.now()
            await self.outbox.recover(now - self.lease, sorted(self.in_flight))
            handled = 0
            running: set[asyncio.Task[None]] = set()
            try:
                while True:
                    room = self.concurrency - len(running)
                    # Claim in handfuls, not after every single delivery: each claim is
                    # a write, and on SQLite writes take turns.
                    if (room >= max(1, self.concurrency // 4) or not running) and (
                        not self._stopping
                    ):
                        rows = await self.outbox.claim(self.worker, self.clock.now(), room)
                        for row in rows:
                            self.in_flight.add(row.id)  # before the task runs: never "dead"
                            running.add(asyncio.create_task(self._guarded(row)))
                        handled += len(rows)
                    if not running:
                        return handled
                    done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                    for task in done:
                        task.result()  # a failure the row could not record: surface it
            finally:
                if running:  # stopping on an error: let the others finish their rows
                    await asyncio.gather(*running, return_exceptions=True)

    async def run_forever(self) -> None:
        while not self._stopping:
            try:
                await self.run_once()
            except Exception:  # the loop must outlive a database hiccup
                log.exception("outbox pass failed; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), TICK_SECONDS)
            self._wake.clear()

    async def drain(self) -> None:
        """Claim nothing new; let the deliveries under way finish."""
        self._stopping = True
        self._wake.set()
        for task in (self._loop, self._kick):
            if task is not None:
                with contextlib.suppress(Exception):
                    await task
        async with self._lock:
            pass

    # -- one row -------------------------------------------------------------------

    async def _guarded(self, row: OutboxRow) -> None:
        try:
            await self._deliver(row)
        except Exception as e:  # a bug in one row must not stop the others
            log.exception("outbox row %s (%s) failed unexpectedly", row.id, row.op)
            await self._failed(row, f"internal: {type(e).__name__}", transient=True)
        finally:
            self.in_flight.discard(row.id)

    async def _deliver(self, row: OutboxRow) -> None:
        guard = self.guards.get(str(row.payload.get("only_while") or ""))
        if guard is not None and not await guard(row):
            # No longer worth sending; but a post tried before may have gone out already,
            # and then the record says so.
            ts = None
            if row.op == Op.POST and row.attempts > 1 and row.first_claimed_at is not None:
                since = (row.first_claimed_at - CLOCK_SKEW).timestamp()
                ts = await self.chat.find_posted(row.conversation, row.key, since)
            result: dict[str, Any] = {"ts": ts} if ts else {"skipped": True}
            await self._done(row, result)
            return
        try:
            sent = await self._send(row)
        except ChatError as e:
            await self._failed(row, e.code, transient=e.code in TRANSIENT)
            return
        if sent is None:  # nothing to send any more (the renderer said so)
            await self._done(row, {"skipped": True})
            return
        result = sent
        paced = None
        if row.op == Op.POST and not is_person(row.conversation):
            paced = (row.conversation, self.pace.spend)
        hook = self.on_done.get(str(row.payload.get("then") or ""))
        also = None
        if hook is not None:

            async def also_run(s: AsyncSession, hook: DoneHook = hook) -> None:
                await hook(s, row, result)

            also = also_run
        await self._done(row, result, paced, also)

    async def _done(
        self,
        row: OutboxRow,
        result: dict[str, Any],
        paced: tuple[str, Spend] | None = None,
        also: Callable[[AsyncSession], Awaitable[None]] | None = None,
    ) -> None:
        now = self.clock.now()
        await self._finish(Finished(row.id, now, result, paced, also, row.incident_id))

    async def _send(self, row: OutboxRow) -> dict[str, Any] | None:
        payload = row.payload
        # A row's conversation is its lane (the order it keeps); it names the Slack
        # conversation too, unless the row says otherwise (an invite beside the posts).
        where = str(payload.get("to") or row.conversation)
        if row.op == Op.POST:
            message = await self._message(payload, step=row.key)
            if message is None:
                return None
            # A second attempt: the first may have reached Slack before its process died.
            retry_since = row.first_claimed_at if row.attempts > 1 else None
            ts = await post_once(self.chat, where, message, retry_since)
            return {"ts": ts}
        if row.op == Op.EDIT:
            target = await self._ts(payload)
            message = await self._message(payload, step=None)
            if target is None or message is None:
                return None
            await self.chat.edit(where, target, message)
            return {"ts": target}
        if row.op == Op.INVITE:
            failed = await self.chat.invite(where, list(payload.get("users") or ()))
            return {"failed": failed}
        if row.op == Op.TOPIC:
            topic = str(payload.get("topic") or "")
            if payload.get("render"):  # the topic of the moment it is sent
                made = await self._message(payload, step=None)
                if made is None:
                    return None
                topic = made.text[:250]  # Slack's limit
            await self.chat.set_topic(where, topic)
            return {}
        if row.op == Op.PIN:
            pinned = await self._ts(payload)
            if pinned is None:
                return None
            await self.chat.pin(where, pinned)
            return {"ts": pinned}
        if row.op == Op.USERGROUP:
            users = [str(u) for u in payload.get("users") or ()]
            await self.chat.set_group_members(str(payload["usergroup"]), users)
            return {}
        if row.op == Op.ARCHIVE:
            await self.chat.archive(where)
            return {}
        if row.op == Op.EMAIL:
            if self.mailer is None:
                raise ChatError("smtp_not_configured", "set SMTP_URL")
            sent_id = await self.mailer.send(
                str(payload.get("to") or ""),
                str(payload.get("subject") or ""),
                str(payload.get("body") or ""),
                sender=payload.get("from"),
                key=row.key,
            )
            return {"message_id": sent_id}
        sender = self.senders.get(row.op)
        if sender is not None:  # an outside service (trackers, PagerDuty, Opsgenie)
            return await sender(row)
        raise ChatError("unknown_op", row.op)

    async def _message(self, payload: dict[str, Any], step: str | None) -> Message | None:
        render = payload.get("render")
        if render:
            renderer = self.renderers.get(str(render))
            if renderer is None:
                raise ChatError("unknown_renderer", str(render))
            made = await renderer(dict(payload.get("args") or {}))
            if made is None:
                return None
            return Message(
                text=made.text,
                title=made.title,
                incident_id=made.incident_id,
                controls=made.controls,
                context=made.context,
                step=step,
                subject=made.subject,
            )
        return message_from(dict(payload.get("message") or {}), step)

    async def _ts(self, payload: dict[str, Any]) -> str | None:
        if payload.get("ts"):
            return str(payload["ts"])
        source = payload.get("ts_from")
        if not source:
            return None
        result = await self.outbox.result_of(str(source))
        return str(result["ts"]) if result and result.get("ts") else None

    async def _failed(self, row: OutboxRow, code: str, *, transient: bool) -> None:
        now = self.clock.now()
        if transient and row.attempts < MAX_ATTEMPTS:
            wait = min(LONGEST_RETRY, FIRST_RETRY * 2 ** (row.attempts - 1))
            log.warning(
                "outbox %s to %s failed (%s), try %d: again in %ss",
                row.op,
                row.conversation,
                code,
                row.attempts,
                int(wait.total_seconds()),
            )
            await self.outbox.retry(row.id, now + wait, code)
            return
        log.warning("outbox %s to %s given up: %s", row.op, row.conversation, code)
        await self.outbox.fail(row.id, now, code)
        for listener in self.on_failed:
            try:
                await listener(row, code)
            except Exception:
                log.exception("reporting a failed delivery failed")
