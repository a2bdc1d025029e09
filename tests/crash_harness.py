"""The crash harness of tests/test_crash_points.py: a fake Slack that reports every call it
accepted, the event feed that redelivers like Slack, and the driver that kills the bot
process at the planned points and starts the next one on the same database."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.crash_plan import BOT_ENV, LEVELS, NAG, STEP_EVENT, STEP_TIMEOUT, Check, Inc, Kill
from tests.harness import eventually
from tests.processes import BotProcess
from tests.slack_requests import Response
from tests.slack_server import FakeSlack, Message
from tests.slack_server.server import Reply

# --- the fake Slack that kills, and delivers events ------------------------------------


class CrashingSlack(FakeSlack):
    """Tells `on_accepted` of every call it accepted, before the bot reads the answer."""

    on_accepted: Callable[[str, dict[str, Any], dict[str, Any]], None] | None = None

    def _dispatch(self, method: str, token: str, args: dict[str, Any]) -> Reply:
        reply = super()._dispatch(method, token, args)
        if self.on_accepted is not None and reply.status == 200 and reply.body.get("ok"):
            self.on_accepted(method, args, reply.body)
        return reply


@dataclass
class Delivered:
    pid: int
    tries: int


class EventFeed:
    """Slack's Events API: each message of an incident channel goes to the bot until one
    process acknowledges it (real Slack gives up after three retries; this never does)."""

    def __init__(self, crashes: Crashes) -> None:
        self.crashes = crashes
        self.queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        self.delivered: dict[tuple[str, str], Delivered] = {}
        self.busy = False
        self._task: asyncio.Task[None] | None = None

    def push(self, message: dict[str, Any], channel: str) -> None:
        event: dict[str, Any] = {
            "type": "message",
            "channel": channel,
            "channel_type": "channel",
            "event_ts": message["ts"],
            **{k: message[k] for k in ("user", "bot_id", "text", "ts") if k in message},
        }
        self.queue.put_nowait((self.crashes.slack.new_id("Ev"), event))

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def idle(self) -> bool:
        return self.queue.empty() and not self.busy

    async def _run(self) -> None:
        while True:
            event_id, event = await self.queue.get()
            self.busy = True
            tries = 0
            while True:
                bot = self.crashes.bot
                try:
                    r = await asyncio.wait_for(
                        bot.send.event(event, event_id=event_id, retry_num=tries or None), 3.0
                    )
                    acked = r.status == 200
                except (aiohttp.ClientError, OSError, TimeoutError):
                    acked = False
                if acked:
                    key = (event["channel"], event["ts"])
                    self.delivered[key] = Delivered(bot.proc.pid, tries)
                    self.crashes.event_acked(event)
                    break
                tries += 1
                await asyncio.sleep(0.1)  # the process is down: Slack tries again later
            self.busy = False


# --- the driver ------------------------------------------------------------------------


@dataclass
class KillRecord:
    label: str
    pid: int


@dataclass
class Crashes:
    slack: CrashingSlack
    tmp_path: Path
    policy: Path
    db_url: str
    engine: AsyncEngine
    seed: int
    bot: BotProcess = field(init=False)
    feed: EventFeed = field(init=False)
    armed: list[Kill] = field(default_factory=list)
    kills: list[KillRecord] = field(default_factory=list)
    killed: set[int] = field(default_factory=set)  # pids
    problems: list[str] = field(default_factory=list)
    generation: int = 0

    def __post_init__(self) -> None:
        self.feed = EventFeed(self)
        self.slack.on_accepted = self.accepted

    # -- processes --

    def _spawn(self) -> None:
        self.generation += 1
        log = self.tmp_path / f"bot{self.generation:02d}.log"
        self.bot = BotProcess(self.slack, self.db_url, self.policy, log, env=BOT_ENV)

    async def start(self) -> None:
        self._spawn()
        await self.bot.ready()
        self.feed.start()

    def alive(self) -> bool:
        return self.bot.proc.poll() is None

    def kill(self, label: str) -> None:
        """SIGKILL the process that is up (synchronous: also called from inside Slack)."""
        pid = self.bot.proc.pid
        self.kills.append(KillRecord(label, pid))
        self.killed.add(pid)
        print(f"  kill {len(self.kills):2d}: {label} (pid {pid})")
        self.bot.kill()

    async def revive(self) -> None:
        """A new process on the same database, at once, until one is up."""
        while not self.alive():
            self._spawn()
            try:
                await self.bot.ready()
            except AssertionError:
                if self.bot.proc.pid not in self.killed:  # it died by itself, or hangs
                    raise

    # -- crash points --

    def arm(self, kills: list[Kill]) -> None:
        now = time.monotonic()
        for k in kills:
            k.armed_at = now
            self.armed.append(k)

    def fire(self, kill: Kill, label: str | None = None) -> None:
        self.armed.remove(kill)
        self.arm(kill.then)
        self.kill(label or kill.label)

    def accepted(self, method: str, args: dict[str, Any], body: dict[str, Any]) -> None:
        if method == "chat.postMessage":
            channel = self.slack.channels.get(str(body.get("channel")))
            if channel is not None and channel.name.startswith("incident-"):
                self.feed.push(body["message"], channel.id)
        if not self.alive():  # a call the dead process had already sent
            return
        hits = [k for k in self.armed if k.call is not None and k.call(method, args)]
        if hits:
            self.fire(hits[0])

    def event_acked(self, event: dict[str, Any]) -> None:
        hits = [k for k in self.armed if k.event is not None and k.event(event)]
        if hits and self.alive():
            self.fire(hits[0])

    # -- the script's steps --

    async def until(self, name: str, done: Check, within: float, *, finish: bool) -> bool:
        """Wait for `done` (False after `within` s), firing the moments that come and
        restarting whatever dies. `finish`: then fire what is still armed."""
        deadline = time.monotonic() + within
        while True:
            if not self.alive():
                await self.revive()
                continue
            now = time.monotonic()
            due = [k for k in self.armed if k.after is not None and now >= k.armed_at + k.after]
            if due:
                self.fire(due[0])
                continue
            if await _check(done):
                if not finish or not self.armed:
                    return True
                # Not reached (the call was not made again after an earlier crash, or the
                # step was over sooner): crash now, as the step ends.
                late = self.armed[0]
                self.fire(late, f"{late.label}, not reached: at the end of {name!r}")
                continue
            if now > deadline:
                return False
            await asyncio.sleep(0.01)

    async def step(
        self, name: str, done: Check, kills: list[Kill], within: float = STEP_TIMEOUT
    ) -> None:
        self.arm(kills)
        if not await self.until(name, done, within, finish=True):
            raise AssertionError(
                f"CRASH_SEED={self.seed}: step {name!r} not done within {within}s\n"
                + await self.diagnosis()
            )

    async def command(self, words: str, user: str, channel: str) -> Response | None:
        """A slash command; None when the process died before answering."""
        return await self.request(self.bot.send.command(words, user=user, channel=channel))

    async def request(self, sent: Awaitable[Response]) -> Response | None:
        try:
            return await sent
        except (aiohttp.ClientError, OSError):
            return None

    async def change(
        self,
        name: str,
        send: Callable[[], Coroutine[Any, Any, Response | None]],
        acked: Callable[[Response], bool],
        stored: Check,
        kills: list[Kill],
    ) -> None:
        """A change by command or button with its crash points armed. Once acknowledged
        it must be stored; when the process died before anything was stored, the person
        tries again (Slack told them it failed), and never when it was."""
        self.arm(kills)
        for _ in range(3):
            before = len(self.kills)
            task = asyncio.create_task(send())
            await self.until(name, task.done, 10, finish=False)
            r = task.result()
            ok = r is not None and r.status == 200 and acked(r)
            if await self.until(f"{name}: stored", stored, 3, finish=False):
                return
            if ok:
                crashes = ", ".join(k.label for k in self.kills[before:])
                self.problems.append(
                    f"lost change: {name} was acknowledged ({r.body if r else ''})"
                    f" but is not stored after {crashes}"
                )
        raise AssertionError(f"CRASH_SEED={self.seed}: {name} never stored")

    async def has_entry(self, inc: Inc, kind: str, *, at_least: int = 1) -> bool:
        found = await self.rows(
            "SELECT count(*) FROM timeline_entry WHERE incident_id = :i AND kind = :k",
            i=inc.id,
            k=kind,
        )
        return int(found[0][0]) >= at_least

    async def is_resolved(self, inc: Inc) -> bool:
        found = await self.rows("SELECT resolved_at FROM incident WHERE id = :i", i=inc.id)
        return found[0][0] is not None

    async def command_answered(self, words: str, user: str, channel: str, answer: str) -> None:
        """An in-incident command, sent with no crash armed: its ephemeral answer must
        come, in the ack once the change is committed (or, for a report, through
        response_url once the work is done)."""
        before = len(self.slack.responses)
        r = await self.command(words, user, channel)
        assert r is not None and r.status == 200, f"CRASH_SEED={self.seed}: {words!r}: {r}"
        in_ack = str((r.json() or {}).get("text")) if r.body else ""

        def answered() -> bool:
            later = [str(a.get("text")) for a in self.slack.responses[before:]]
            return any(answer in text for text in [in_ack, *later])

        try:
            await eventually(answered, within=15)
        except AssertionError:
            got = [a.get("text") for a in self.slack.responses[before:]]
            raise AssertionError(
                f"CRASH_SEED={self.seed}: {words!r} got no {answer!r} answer (got {got})\n"
                + await self.diagnosis()
            ) from None

    async def declare(self, inc: Inc, general: str) -> None:
        """`/incident SEV1 <title>` with the crash points already armed. A declaration
        the bot acknowledged must be stored; one it did not, the declarer sends again."""
        for _ in range(3):
            before = len(self.kills)
            send = asyncio.create_task(self.command(f"SEV1 {inc.title}", inc.commander, general))
            await self.until("the declare command", send.done, 10, finish=False)
            r = send.result()
            acked = r is not None and r.status == 200 and "Declaring" in r.body
            if await self.until("stored", lambda: self.incident_id(inc.title), 3, finish=False):
                inc.id = await self.incident_id(inc.title) or 0
                return
            if acked:
                crashes = ", ".join(k.label for k in self.kills[before:])
                self.problems.append(
                    f"lost declaration: {inc.title!r} was acknowledged ({r.body if r else ''})"
                    f" but is not stored after {crashes}"
                )
            # Slack told the declarer the command failed (or nothing came): again.
        raise AssertionError(f"CRASH_SEED={self.seed}: {inc.title!r} never declared")

    # -- the database --

    async def rows(self, sql: str, **params: Any) -> list[Any]:
        async with self.engine.connect() as c:
            return list((await c.execute(text(sql), params)).all())

    async def incident_id(self, title: str) -> int | None:
        found = await self.rows("SELECT id FROM incident WHERE title = :t", t=title)
        return int(found[0][0]) if found else None

    async def settled(self) -> bool:
        """Nothing pending or claimed (after a resolve: the claims of a dead process
        come back after the lease and are cancelled)."""
        left = await self.rows("SELECT count(*) FROM due_job WHERE state IN ('pending', 'claimed')")
        return int(left[0][0]) == 0

    async def diagnosis(self) -> str:
        jobs = await self.rows(
            "SELECT id, incident_id, key, state, attempts, due_at, claimed_at, finished_at"
            " FROM due_job ORDER BY id"
        )
        tail = self.bot.log.read_text(errors="replace")[-3000:]
        kills = "\n".join(f"  {k.label} (pid {k.pid})" for k in self.kills)
        return (
            f"kills so far:\n{kills}\ndue_job rows:\n"
            + "\n".join(f"  {tuple(j)}" for j in jobs)
            + f"\nlog of the process up ({self.bot.log.name}):\n{tail}"
        )


async def _check(done: Check) -> bool:
    result = done()
    if isinstance(result, Awaitable):
        result = await result
    return bool(result)


# --- reading the fake Slack ------------------------------------------------------------


def step_of(m: Message) -> str | None:
    meta = m.metadata or {}
    if meta.get("event_type") != STEP_EVENT:
        return None
    step = (meta.get("event_payload") or {}).get("step")
    return str(step) if step is not None else None


def all_messages(slack: FakeSlack) -> list[tuple[str, Message]]:
    """(where, message) for every message in every channel and DM; DMs as the user id."""
    out = [(c.id, m) for c in slack.channels.values() for m in c.messages]
    out += [(user, m) for user, ms in slack.dms.items() for m in ms]
    return out


def nags_in(slack: FakeSlack, where: str, inc: Inc) -> int:
    return sum(f"{inc.number} {NAG}" in m.text for m in slack.messages(where))


def said_in(slack: FakeSlack, inc: Inc, says: str) -> int:
    """How many of the bot's messages in the incident channel say `says`."""
    return sum(says in m.text for m in slack.messages(inc.channel) if m.bot_id)


def paged(slack: FakeSlack, inc: Inc, level: int) -> bool:
    name, users = LEVELS[level]
    post = any(m.text == f"Escalating {inc.number} to {name}" for m in slack.messages(inc.channel))
    dms = all(any(f"paged for {inc.number} " in m.text for m in slack.messages(u)) for u in users)
    return post and dms


def when(value: Any) -> datetime:
    """A datetime read back from SQLite (stored as naive UTC text) or PostgreSQL."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)
