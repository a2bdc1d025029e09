"""SIGKILL at 20 random points of scripted incidents: after each restart, 0 lost and
0 duplicate reminders, escalations and timeline entries.

Three SEV1 incidents run one after the other through a real `python -m bot serve` on one
SQLite file, with tests/policies/fast.yaml (a reminder every 2 s, Primary paged at the
declaration, Secondary 2 s later unless acknowledged), announcing in #incidents. Each
incident: declare by slash command; its set-up, the Primary page, a reminder and the
Secondary page; another reminder; a person's message in the channel; `/incident update`
and `/incident note`; two more reminders; `/incident ack`; `/incident resolve`.

Twenty crash points are drawn from `random.Random(seed)` (printed; `CRASH_SEED=<n>` or
`CRASH_SEED=random` overrides it) among the script's slots (`SLOTS`); every incident's
declaration is one of them. A crash point is:
- a moment: SIGKILL so many seconds into a step (after sending the declare command,
  while waiting for a reminder, just after resolving);
- a Slack call: SIGKILL from inside the fake Slack right after it accepted a call (the
  channel created, the announcement posted, a reminder or page sent in the channel or
  by DM...) and before the bot reads the answer: the window between Slack and the
  commit. Such a trigger is armed before the call can happen; the "resume" one is armed
  by the declaration's kill and hits the set-up the next process resumes;
- an event: SIGKILL right after the bot acknowledged a channel message's event.
A crash point its step did not reach (the call was not made again after an earlier
crash, say) fires as the step ends, so that every run has exactly 20 kills. After each
kill a new process starts at once on the same database, with INCIDENT_CLAIM_LEASE=1 (the
dead process's claims come back after a second, not two minutes), and the script goes
on. Like Slack, the fake delivers every message posted in an incident channel as a
`message` event to whichever process is up, again until one acknowledges it.

After a last graceful stop, the fake Slack and the database must agree (`check`): one
channel, announcement and pin per incident; each done due_job row's messages in Slack
exactly once (by the step key in their metadata, and by text), none for a row not done;
one timeline line per done reminder and page, per declaration, update, note, ack and
resolution, and per channel message; nothing left pending or claimed. Every broken
promise is listed, with the seed and the crash points.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.scheduler import MAX_ATTEMPTS
from tests.harness import ROOT, eventually
from tests.processes import BotProcess
from tests.slack_requests import Response
from tests.slack_server import FakeSlack, Message
from tests.slack_server.server import Reply

FAST = ROOT / "tests/policies/fast.yaml"
MANIFEST = ROOT / "manifest.yml"
DEFAULT_SEED = 33  # its plan reaches every failure class found so far (see the report)
KILLS = 20
INCIDENTS = 3
# The dead process's claimed rows come back after one second instead of 120.
BOT_ENV = {"INCIDENT_CLAIM_LEASE": "1"}
STEP_EVENT = "incident_bot"  # the metadata event_type naming the step that sent a message
NAG = "is due a status update"  # fast.yaml's nag template: "{commander} {number} is due..."
STEP_TIMEOUT = 30.0

# fast.yaml announces nowhere; here declarations go to #incidents too (set-up's last step).
ANNOUNCE = "#incidents"
_policy = yaml.safe_load(FAST.read_text())
LEVELS: list[tuple[str, list[str]]] = [
    (level["name"], [_policy["contacts"][t]["user"] for t in level["targets"]])
    for level in _policy["escalation"]["levels"]
]
PRIMARY, SECONDARY = 0, 1

Check = Callable[[], object]  # truthy when done; may return an awaitable
CallMatch = Callable[[str, dict[str, Any]], bool]
EventMatch = Callable[[dict[str, Any]], bool]


# --- the crash plan --------------------------------------------------------------------

MOMENT = "moment"
SETUP_CALLS = ("create", "invite", "topic", "announcement", "pin", "announce")


@dataclass(frozen=True)
class Slot:
    """Where in an incident's script a crash may go: after one of `variants` (Slack
    calls, or an event), or at a `moment` drawn from `within` seconds into its step."""

    name: str
    variants: tuple[str, ...] = (MOMENT,)
    within: tuple[float, float] = (0.0, 0.0)


SLOTS = (
    # While the command is acked and the channel set up (it all takes ~50 ms).
    Slot("declare", variants=(MOMENT, *SETUP_CALLS), within=(0.0, 0.04)),
    Slot("resume", variants=("set-up call 1", "set-up call 2", "set-up call 3")),
    Slot("primary", variants=("invite", "post", "dm")),
    Slot("nag1", variants=("post", "dm")),
    Slot("secondary", variants=("invite", "post", "dm")),
    Slot("nag2", within=(0.0, 3.0)),
    Slot("message", variants=("event",)),  # a person's message in the channel
    Slot("nag3", variants=("post", "dm")),
    Slot("nag4", within=(0.0, 3.0)),
    Slot("resolved", within=(0.0, 0.5)),
)


@dataclass(frozen=True)
class Planned:
    incident: int  # 0-based: which scripted incident
    slot: str
    variant: str
    after: float | None = None  # a moment

    def __str__(self) -> str:
        what = f"+{self.after:.3f}s" if self.variant == MOMENT else f"after {self.variant}"
        return f"#{self.incident + 1} {self.slot} {what}"


def crash_plan(rng: random.Random) -> dict[tuple[int, str], Planned]:
    """KILLS crash points: every declaration, the rest drawn among the other slots."""

    def draw(incident: int, slot: Slot) -> Planned:
        if slot.name == "declare":  # half at a moment, half after one set-up call
            variant = MOMENT if rng.random() < 0.5 else rng.choice(SETUP_CALLS)
        else:
            variant = rng.choice(slot.variants)
        if variant != MOMENT:
            return Planned(incident, slot.name, variant)
        low, high = slot.within
        if slot.name == "declare" and rng.random() < 0.25:
            low, high = 0.04, 0.8  # now and then a little later: the first page firing
        return Planned(incident, slot.name, variant, after=round(rng.uniform(low, high), 3))

    forced = [(i, s) for i in range(INCIDENTS) for s in SLOTS if s.name == "declare"]
    others = [(i, s) for i in range(INCIDENTS) for s in SLOTS if s.name != "declare"]
    chosen = forced + rng.sample(others, KILLS - len(forced))
    chosen.sort(key=lambda p: (p[0], SLOTS.index(p[1])))
    return {(i, s.name): draw(i, s) for i, s in chosen}


@dataclass
class Kill:
    """A crash point made concrete for the incident at hand."""

    label: str
    after: float | None = None  # a moment: seconds after it was armed
    call: CallMatch | None = None  # right after the fake Slack accepted such a call
    event: EventMatch | None = None  # right after the bot acked such an event
    then: list[Kill] = field(default_factory=list)  # armed when this one fires
    armed_at: float = 0.0


@dataclass
class Inc:
    """What the script knows of the incident it is driving."""

    title: str
    commander: str
    id: int = 0
    channel: str = ""

    @property
    def number(self) -> str:
        return f"INC-{self.id}"


# Incidents run one at a time, each settled before the next: a page or a reminder sent
# while one runs is that incident's.


def _users(args: dict[str, Any]) -> list[str]:
    users = args.get("users", "")
    return [str(u) for u in users] if isinstance(users, list) else str(users).split(",")


def _text(args: dict[str, Any]) -> str:
    return str(args.get("text", ""))


def setup_call(variant: str, inc: Inc) -> CallMatch:
    def match(method: str, args: dict[str, Any]) -> bool:
        if variant == "create":
            return method == "conversations.create"
        if variant == "invite":
            return method == "conversations.invite" and inc.commander in _users(args)
        if variant == "topic":
            return method == "conversations.setTopic"
        if variant == "announcement":  # the one pinned in the incident channel
            return method == "chat.postMessage" and f"SEV1 {inc.title}" in _text(args)
        if variant == "announce":
            said = _text(args)
            return method == "chat.postMessage" and "declared" in said and inc.title in said
        if variant == "list":  # looking for a channel created before a crash
            return method == "conversations.list"
        return method == "pins.add"

    return match


def nth_setup_call(n: int, inc: Inc) -> CallMatch:
    """The n-th set-up call from now on (after a crash: of the set-up being resumed)."""
    matches = [setup_call(v, inc) for v in (*SETUP_CALLS, "list")]
    seen = 0

    def match(method: str, args: dict[str, Any]) -> bool:
        nonlocal seen
        if any(m(method, args) for m in matches):
            seen += 1
        return seen == n

    return match


def page_call(variant: str, level: int) -> CallMatch:
    name, users = LEVELS[level]

    def match(method: str, args: dict[str, Any]) -> bool:
        if variant == "invite":
            return method == "conversations.invite" and users[0] in _users(args)
        if method != "chat.postMessage":
            return False
        said = _text(args)
        if variant == "post":
            return said.startswith("Escalating INC-") and said.endswith(f" to {name}")
        return args.get("channel") == users[0] and f"*{name}*" in said

    return match


def nag_call(variant: str, inc: Inc) -> CallMatch:
    def match(method: str, args: dict[str, Any]) -> bool:
        if method != "chat.postMessage" or NAG not in _text(args):
            return False
        where = str(args.get("channel"))
        return where == inc.commander if variant == "dm" else where.startswith("C")

    return match


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
        try:
            return await self.bot.send.command(words, user=user, channel=channel)
        except (aiohttp.ClientError, OSError):
            return None

    async def command_answered(self, words: str, user: str, channel: str, answer: str) -> None:
        """An in-incident command, sent with no crash armed: its ephemeral answer
        (through response_url, once the work is done) must come."""
        before = len(self.slack.responses)
        r = await self.command(words, user, channel)
        assert r is not None and r.status == 200, f"CRASH_SEED={self.seed}: {words!r}: {r}"

        def answered() -> bool:
            return any(answer in str(a.get("text")) for a in self.slack.responses[before:])

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


# --- the test --------------------------------------------------------------------------


@pytest.fixture
async def slack() -> AsyncIterator[CrashingSlack]:
    fake = CrashingSlack.from_manifest(MANIFEST)
    assert isinstance(fake, CrashingSlack)
    async with fake:
        for _, users in LEVELS:
            for user in users:
                fake.add_user(user.lower(), id=user)
        yield fake


def seed_of_run() -> int:
    chosen = os.environ.get("CRASH_SEED", "").strip()
    if chosen == "random":
        return random.SystemRandom().randrange(1, 2**31)
    return int(chosen) if chosen else DEFAULT_SEED


async def test_sigkill_at_20_random_points_loses_and_repeats_nothing(
    slack: CrashingSlack, tmp_path: Path
) -> None:
    seed = seed_of_run()
    plan = crash_plan(random.Random(seed))
    print(f"\nCRASH_SEED={seed}: {len(plan)} crash points")
    for p in plan.values():
        print(f"  {p}")

    names = ["alice", "bob", "carol", "dave", "erin"]
    people = [slack.add_user(names[i % len(names)]) for i in range(INCIDENTS)]
    general = slack.add_channel("general", members=people)
    # The bot is a member, as README advises: else it cannot read the channel to check,
    # after a crash, that it announced already (it posts there by chat:write.public).
    slack.add_channel(ANNOUNCE.removeprefix("#"), members=[slack.bot_user_id])
    policy = tmp_path / "fast-announcing.yaml"
    fast = FAST.read_text()
    assert "announce: null" in fast
    policy.write_text(fast.replace("announce: null", f'announce: "{ANNOUNCE}"'))
    db_url = f"sqlite+aiosqlite:///{tmp_path}/bot.db"
    engine = create_async_engine(db_url)
    crashes = Crashes(slack, tmp_path, policy, db_url, engine, seed)
    started = time.monotonic()
    incs = [Inc(f"Disk full on db-{n + 1}", people[n]) for n in range(INCIDENTS)]
    try:
        await crashes.start()
        for n, inc in enumerate(incs):
            await run_incident(crashes, plan, n, inc, general)
        await eventually(crashes.feed.idle, within=20)  # the last events on their way
    finally:
        await crashes.feed.stop()
        crashes.bot.stop()
    print(f"  script with {len(crashes.kills)} kills took {time.monotonic() - started:.1f}s")
    try:
        assert len(crashes.kills) == KILLS, [k.label for k in crashes.kills]
        problems = crashes.problems + await check(crashes, incs)
    finally:
        await engine.dispose()
    kills = "\n".join(f"  {k.label} (pid {k.pid})" for k in crashes.kills)
    assert not problems, (
        f"CRASH_SEED={seed}: {len(problems)} problem(s) after {len(crashes.kills)} kills:\n"
        + "\n".join(f"- {p}" for p in problems)
        + f"\ncrash points:\n{kills}\nlogs: {tmp_path}"
    )


async def run_incident(
    crashes: Crashes, plan: dict[tuple[int, str], Planned], n: int, inc: Inc, general: str
) -> None:
    slack = crashes.slack

    def kill(
        slot: str, call: Callable[[str], CallMatch] | None = None, event: EventMatch | None = None
    ) -> list[Kill]:
        p = plan.get((n, slot))
        if p is None:
            return []
        if p.variant == MOMENT:
            return [Kill(str(p), after=p.after)]
        if p.variant == "event":
            assert event is not None
            return [Kill(str(p), event=event)]
        assert call is not None
        return [Kill(str(p), call=call(p.variant))]

    print(f"incident #{n + 1}: {inc.title}")
    # Everything up to the Secondary page happens within ~4 s of the command: its crash
    # points are armed before it is sent.
    [declared] = kill("declare", lambda v: setup_call(v, inc))
    declared.then = kill("resume", lambda v: nth_setup_call(int(v.split()[-1]), inc))
    crashes.arm(
        [
            declared,
            *kill("primary", lambda v: page_call(v, PRIMARY)),
            *kill("nag1", lambda v: nag_call(v, inc)),
            *kill("secondary", lambda v: page_call(v, SECONDARY)),
        ]
    )
    await crashes.declare(inc, general)

    async def first_pages() -> bool:
        [(channel,)] = await crashes.rows("SELECT channel_id FROM incident WHERE id = :i", i=inc.id)
        if channel is None or channel not in slack.channels:
            return False
        inc.channel = str(channel)
        return (
            bool(slack.channels[inc.channel].pins)
            and paged(slack, inc, PRIMARY)
            and nags_in(slack, inc.channel, inc) >= 1
            and paged(slack, inc, SECONDARY)
        )

    await crashes.step("set-up, Primary, first reminder, Secondary", first_pages, [])
    await crashes.step(
        "second reminder", lambda: nags_in(slack, inc.channel, inc) >= 2, kill("nag2")
    )

    # A person writes in the channel; Slack sends the bot the event.
    said = Message(
        ts=slack.next_ts(),
        channel=inc.channel,
        user=inc.commander,
        text=f"Looking at the graphs of {inc.title}",
    )
    slack.channels[inc.channel].messages.append(said)
    crashes.feed.push(said.to_api(), inc.channel)
    await crashes.step(
        "a message in the channel",
        lambda: (inc.channel, said.ts) in crashes.feed.delivered,
        kill("message", event=lambda e: e.get("ts") == said.ts),
    )

    await crashes.command_answered(
        "update Rolled back the deploy", inc.commander, inc.channel, "Update posted"
    )
    await crashes.command_answered(
        "note Disk usage back under 80%", inc.commander, inc.channel, "Noted in the timeline"
    )
    base = nags_in(slack, inc.channel, inc)
    await crashes.step(
        "a reminder after the update",
        lambda: nags_in(slack, inc.channel, inc) > base,
        kill("nag3", lambda v: nag_call(v, inc)),
    )
    base = nags_in(slack, inc.channel, inc)
    await crashes.step(
        "another reminder", lambda: nags_in(slack, inc.channel, inc) > base, kill("nag4")
    )
    await crashes.command_answered("ack", inc.commander, inc.channel, "Acknowledged")
    await crashes.command_answered(
        "resolve Rolled back; disk freed", inc.commander, inc.channel, f"{inc.number} resolved"
    )
    pause_until = time.monotonic() + 0.6
    await crashes.step(
        "just after resolving", lambda: time.monotonic() >= pause_until, kill("resolved")
    )
    if not await crashes.until("settled", crashes.settled, 20, finish=True):
        crashes.problems.append(f"{inc.number}: due rows pending or claimed 20 s after resolve")


# --- what must hold at the end ---------------------------------------------------------


async def check(crashes: Crashes, incs: list[Inc]) -> list[str]:
    slack = crashes.slack
    problems: list[str] = []
    bad = problems.append

    incidents = {
        int(r[0]): r
        for r in await crashes.rows(
            "SELECT id, title, channel_id, channel_name, announcement_ts, resolved_at,"
            " commander_id FROM incident"
        )
    }
    jobs = await crashes.rows(
        "SELECT id, incident_id, kind, level, state, attempts, key, due_at FROM due_job"
    )
    entries = await crashes.rows(
        "SELECT id, incident_id, kind, source_key, channel_id, ts, text FROM timeline_entry"
    )
    pages = await crashes.rows("SELECT incident_id, level, acked_at FROM page")
    # Rows settled after a crash: no longer wanted (resolved meanwhile), their channel
    # message had gone out, so they are done; what the dead process had not sent yet
    # (a DM) is rightly not sent for a resolved incident.
    settled: set[int] = set()
    for (data,) in await crashes.rows(
        "SELECT data FROM timeline_entry WHERE data LIKE '%settled%'"
    ):
        settled.add(int((json.loads(data) if isinstance(data, str) else data)["job"]))
    settled_dm_nags: Counter[int] = Counter()

    # The declarations: each title once, resolved.
    titles = Counter(str(r[1]) for r in incidents.values())
    for inc in incs:
        if titles[inc.title] != 1:
            bad(f"{inc.title!r} stored {titles[inc.title]} times")
    for iid, r in incidents.items():
        if r[5] is None:
            bad(f"INC-{iid} is not resolved")

    # Step keys over every channel and DM: each exactly once.
    sent = all_messages(slack)
    by_step: dict[str, list[tuple[str, Message]]] = defaultdict(list)
    for where, m in sent:
        step = step_of(m)
        if step is not None:
            by_step[step].append((where, m))
    for step, copies in sorted(by_step.items()):
        if len(copies) > 1:
            bad(
                f"step {step} sent {len(copies)} times: "
                + "; ".join(f"{w} ts {m.ts} {m.text[:50]!r}" for w, m in copies)
            )
    unkeyed = [
        (w, m)
        for w, m in sent
        if m.bot_id
        and step_of(m) is None
        and (NAG in m.text or m.text.startswith("Escalating") or "are paged for" in m.text)
    ]
    if unkeyed:
        bad(
            f"{len(unkeyed)} reminder/page messages carry no step metadata, e.g. "
            + "; ".join(f"{w}: {m.text[:50]!r}" for w, m in unkeyed[:3])
        )

    # The set-up: once per incident.
    incident_channels = [c for c in slack.channels.values() if c.name.startswith("incident-")]
    if len(incident_channels) != len(incidents):
        bad(
            f"{len(incident_channels)} incident channels for {len(incidents)} incidents: "
            + ", ".join(sorted(c.name for c in incident_channels))
        )
    setups = Counter(int(j[1]) for j in jobs if j[2] == "setup")
    for iid, r in incidents.items():
        number, title, channel_id, channel_name, ann_ts = f"INC-{iid}", r[1], r[2], r[3], r[4]
        if setups[iid] != 1:
            bad(f"{number}: {setups[iid]} set-up rows")
        for j in jobs:
            if j[2] == "setup" and int(j[1]) == iid and j[4] != "done":
                bad(f"{number}: set-up row {j[0]} is {j[4]} (attempts {j[5]})")
        if channel_id is None or channel_id not in slack.channels:
            bad(f"{number}: no channel (channel_id {channel_id})")
            continue
        ch = slack.channels[channel_id]
        if ch.name != channel_name:
            bad(f"{number}: channel named {ch.name}, stored as {channel_name}")
        twins = [c.name for c in incident_channels if c.name.startswith(f"{ch.name}-")]
        if twins:
            bad(f"{number}: duplicate channels {twins} beside #{ch.name}")
        announcements = [m for m in ch.messages if f"SEV1 {title}" in m.text]
        if len(announcements) != 1:
            bad(f"{number}: the announcement posted {len(announcements)} times")
        keyed = [
            m
            for m in ch.messages
            if (step_of(m) or "").startswith(f"setup:{iid}:")
            and (step_of(m) or "").endswith("announcement")
        ]
        if len(keyed) != 1:
            bad(f"{number}: {len(keyed)} messages carry the set-up announcement's step key")
        if ch.pins != [ann_ts] or not any(m.ts == ann_ts for m in announcements):
            bad(f"{number}: pins {ch.pins}, stored announcement ts {ann_ts}")
        told = [m for m in slack.messages(ANNOUNCE) if f"{number} declared" in m.text]
        if len(told) != 1:
            bad(f"{number}: announced in {ANNOUNCE} {len(told)} times")

    # Every due row: done ones' messages once each, none for the others.
    done: dict[int, Counter[tuple[str, int | None]]] = defaultdict(Counter)
    for job_id, iid, kind, level, state, attempts, key, due_at in jobs:
        r = incidents.get(int(iid))
        if r is None:
            bad(f"due_job {job_id} for unknown incident {iid}")
            continue
        number, channel_id, commander = f"INC-{iid}", str(r[2]), str(r[6])
        row = f"{number} due_job {job_id} {key} due {when(due_at):%H:%M:%S.%f}"
        prefix = f"job:{job_id}:"
        job_keys = {s: len(c) for s, c in by_step.items() if s.startswith(prefix)}
        if state in ("pending", "claimed"):
            bad(f"{row} left {state} (attempts {attempts})")
        if kind == "setup":
            continue
        if state != "done":
            if job_keys:
                bad(f"{row} is {state} but its messages went out: {sorted(job_keys)}")
            if state == "cancelled" and int(attempts) > MAX_ATTEMPTS:
                bad(f"{row} given up after {attempts} attempts: lost")
            continue
        done[int(iid)][(str(kind), None if level is None else int(level))] += 1
        targets = [channel_id, commander] if kind == "nag" else [channel_id, *LEVELS[level][1]]
        for where in targets:
            count = job_keys.get(f"{prefix}{where}", 0)
            if int(job_id) in settled and where != channel_id and count == 0:
                if kind == "nag":
                    settled_dm_nags[int(iid)] += 1
                continue
            if count != 1:
                what = "lost" if count == 0 else "duplicated"
                bad(f"{row}: message to {where} {what} (step key sent {count} times)")

    # The same by text, which needs no metadata.
    commanders = Counter(str(r[6]) for r in incidents.values())
    for iid, r in incidents.items():
        number, channel_id, commander = f"INC-{iid}", str(r[2]), str(r[6])
        d = done[iid]
        nag_rows = d[("nag", None)]
        inc = Inc(str(r[1]), commander, iid, channel_id)
        in_channel = nags_in(slack, channel_id, inc)
        if in_channel != nag_rows:
            bad(f"{number}: {in_channel} reminders in the channel for {nag_rows} done rows")
        by_dm = nags_in(slack, commander, inc)
        if commanders[commander] == 1 and by_dm != nag_rows - settled_dm_nags[iid]:
            bad(f"{number}: {by_dm} reminder DMs for {nag_rows} done rows")
        esc_rows = sum(c for (kind, _), c in d.items() if kind == "escalate")
        posts = sum(
            m.text.startswith(f"Escalating {number} to ") for m in slack.messages(channel_id)
        )
        if posts != esc_rows:
            bad(f"{number}: {posts} 'Escalating' posts for {esc_rows} done escalate rows")
        for level, (name, users) in enumerate(LEVELS):
            if d[("escalate", level)] != 1:
                bad(f"{number}: {name} paged by {d[('escalate', level)]} done rows, not 1")
            for user in users:
                dms = sum(
                    f"paged for {number} " in m.text and f"*{name}*" in m.text
                    for m in slack.messages(user)
                )
                if dms != d[("escalate", level)]:
                    bad(f"{number}: {dms} {name} page DMs to {user}")
        levels = sorted(int(p[1]) for p in pages if int(p[0]) == iid)
        if levels != list(range(len(LEVELS))):
            bad(f"{number}: page rows for levels {levels}")
        if any(p[2] is None for p in pages if int(p[0]) == iid):
            bad(f"{number}: a page left unacknowledged after /incident ack")

    # The timeline: no line twice, one per step, one per channel message.
    source_keys = Counter(str(e[3]) for e in entries if e[3] is not None)
    for key, count in source_keys.items():
        if count > 1:
            bad(f"timeline source_key {key} recorded {count} times")
    kinds: dict[int, Counter[str]] = defaultdict(Counter)
    for e in entries:
        kinds[int(e[1])][str(e[2])] += 1
    for iid, r in incidents.items():
        number, channel_id = f"INC-{iid}", str(r[2])
        k, d = kinds[iid], done[iid]
        if k["nag"] != d[("nag", None)]:
            bad(f"{number}: {k['nag']} 'nag' timeline lines for {d[('nag', None)]} done rows")
        esc_rows = sum(c for (kind, _), c in d.items() if kind == "escalate")
        if k["escalation"] != esc_rows:
            bad(f"{number}: {k['escalation']} 'escalation' lines for {esc_rows} done rows")
        for kind in ("declared", "update", "note", "ack", "resolve"):
            if k[kind] != 1:
                bad(f"{number}: {k[kind]} {kind!r} timeline lines, not 1")
        resolved = when(r[5]).timestamp() if r[5] is not None else float("inf")
        recorded = {str(e[5]) for e in entries if e[2] == "message" and e[4] == channel_id and e[5]}
        found = slack.channels.get(channel_id)
        posted = {m.ts: m for m in found.messages} if found else {}
        for ts, m in sorted(posted.items()):
            if float(ts) <= resolved and ts not in recorded:
                got = crashes.feed.delivered.get((channel_id, ts))
                how = (
                    f"acked by pid {got.pid} after {got.tries} failed tries"
                    if got
                    else "never acked"
                )
                bad(f"{number}: channel message {ts} {m.text[:40]!r} not in the timeline ({how})")
        for ts in sorted(recorded - posted.keys()):
            bad(f"{number}: timeline message {ts} is not in the channel")
    return problems
