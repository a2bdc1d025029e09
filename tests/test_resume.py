"""A step cut short right after Slack accepted one of its calls (the process died there)
is finished after the lease, and nothing it already did is done twice: no second
channel, announcement, pin, #incidents post, reminder or page.

The crash is injected around the real gateway, in process, so that every cut point of
a step can be tried deterministically; tests/test_crash_points.py kills real processes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from sqlmodel import select

from bot.clock import VirtualClock
from bot.incidents.chat import Chat, Message
from bot.store.tables import DueJob, OutboxRow, Page, TimelineEntry
from tests.harness import ROOT, Bot, eventually, start_bot
from tests.helpers import add_clocks_team
from tests.slack_server import FakeSlack

POLICY = ROOT / "tests/policies/clocks.yaml"
T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
M = timedelta(minutes=1)
LEASE = 2 * M  # the default
CHANGES_SLACK = {"create_channel", "invite", "set_topic", "post", "pin"}


class Crash(Exception):
    """Stands for the process dying right after Slack accepted the call."""


class CrashAfter:
    """The real gateway, except that after the first successful call for which `when`
    holds, the caller gets Crash instead of the result (once)."""

    def __init__(self, inner: Chat) -> None:
        self.inner = inner
        self.when: Callable[[str, tuple[Any, ...]], bool] | None = None
        self.crashed = False

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if name not in CHANGES_SLACK:
            return attr

        async def call(*args: Any, **kwargs: Any) -> Any:
            result = await attr(*args, **kwargs)
            if self.when is not None and self.when(name, args):
                self.when, self.crashed = None, True
                raise Crash(f"died after {name}")
            return result

        return call

    def nth_change(self, n: int) -> None:
        seen = [0]

        def when(_name: str, _args: tuple[Any, ...]) -> bool:
            seen[0] += 1
            return seen[0] == n

        self.when = when

    def post_to(self, where: str, text: str) -> None:
        def when(name: str, args: tuple[Any, ...]) -> bool:
            return name == "post" and args[0] == where and text in cast(Message, args[1]).text

        self.when = when


class World:
    def __init__(self, slack: FakeSlack, bot: Bot, clock: VirtualClock, chat: CrashAfter):
        self.slack, self.bot, self.clock, self.chat = slack, bot, clock, chat
        self.alice = slack.add_user("alice")
        self.general = slack.add_channel("general", members=[self.alice])

    async def at(self, delta: timedelta) -> int:
        self.clock.set(T0 + delta)
        return await self.bot.services.scheduler.run_due()

    async def rows(self, kind: str) -> list[DueJob]:
        async with self.bot.services.store.session() as s:
            return list((await s.exec(select(DueJob).where(DueJob.kind == kind))).all())

    async def timeline(self, kind: str) -> list[TimelineEntry]:
        async with self.bot.services.store.session() as s:
            res = await s.exec(select(TimelineEntry).where(TimelineEntry.kind == kind))
            return list(res.all())

    def incident_channels(self) -> list[str]:
        return [c.id for c in self.slack.channels.values() if c.name.startswith("incident-")]

    def count(self, where: str, text: str) -> int:
        return sum(text in m.text for m in self.slack.messages(where))


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    slack = FakeSlack.from_manifest(ROOT / "manifest.yml")
    await slack.start()
    add_clocks_team(slack)
    # The bot is in #incidents, as the README asks: there it can look for a post it may
    # have made before a crash (in a channel it is not in it cannot, and posts again).
    incidents = slack.channel_by_name("incidents")
    assert incidents is not None
    incidents.members.add(slack.bot_user_id)
    clock = VirtualClock(T0)
    holder: list[CrashAfter] = []

    def wrap(chat: Chat) -> Chat:
        holder.append(CrashAfter(chat))
        return cast(Chat, holder[0])

    db = f"sqlite+aiosqlite:///{tmp_path}/bot.db"
    bot = await start_bot(slack, db, policy=POLICY, clock=clock, wrap_chat=wrap)
    yield World(slack, bot, clock, holder[0])
    await bot.stop()
    await slack.stop()


SETUP_CHANGES = 5  # create, invite, announcement, pin, #incidents


@pytest.mark.parametrize("cut", range(1, SETUP_CHANGES + 1))
async def test_a_declaration_cut_short_is_set_up_once_after_the_lease(
    world: World, cut: int
) -> None:
    """Cut 1 is the channel's creation, inside the set-up row: it is taken back after the
    lease. The others come while the outbox delivers what the set-up wrote (invite, topic,
    announcement, pin, #incidents, in whatever order the lanes go): the delivery is tried
    again and finds what Slack had done. Either way, everything once."""
    world.chat.nth_change(cut)
    await world.bot.send.command("SEV-1 Disk full", user=world.alice, channel=world.general)
    await eventually(lambda: world.chat.crashed)
    await world.at(1 * M)  # inside the lease: a dead set-up is left alone
    assert len(world.incident_channels()) <= 1
    if cut == 1:
        assert [j.state for j in await world.rows("setup")] == ["claimed"]
    await world.at(LEASE + 2 * M)  # the lease is over: the set-up is taken back

    channels = world.incident_channels()
    assert len(channels) == 1, "one channel, never a -2 for the same incident"
    ch = world.slack.channels[channels[0]]
    assert ch.name == "incident-20260504-disk-full"
    assert world.count(ch.id, "SEV-1 Disk full") == 1, [m.text for m in ch.messages]
    assert len(ch.pins) == 1
    assert world.count("incidents", "INC-1 declared") == 1
    assert world.alice in ch.members
    (setup,) = await world.rows("setup")
    assert (setup.state, setup.attempts) == ("done", 2 if cut == 1 else 1)
    incident = (await world.bot.services.store.list_open())[0]
    assert incident.channel_id == ch.id and incident.announcement_ts == ch.pins[0]
    # The clocks went on meanwhile: the page at declaration went out once.
    assert world.count(ch.id, "Escalating") == 1


async def test_a_declaration_acknowledged_then_cut_short_is_set_up_by_the_scheduler(
    world: World,
) -> None:
    """The process died between committing the incident (then acking) and accepting it:
    no timeline line, clocks or set-up row yet. The scheduler accepts and sets it up; the
    dead process, had it only been slow, stands back."""
    incidents = world.bot.services.incidents
    opened = await incidents.open(severity="SEV-1", title="Disk full", user_id=world.alice)
    await world.at(timedelta(seconds=5))  # within the grace: it may still be accepted
    assert await world.timeline("declared") == [] and await world.rows("setup") == []
    assert world.incident_channels() == []

    await world.at(1 * M)
    channels = world.incident_channels()
    assert len(channels) == 1
    ch = world.slack.channels[channels[0]]
    assert world.alice in ch.members and len(ch.pins) == 1
    assert world.count("incidents", "INC-1 declared") == 1
    (line,) = await world.timeline("declared")
    assert line.occurred_at == T0 and line.author_id == world.alice
    (setup,) = await world.rows("setup")
    assert setup.state == "done"
    assert world.count(ch.id, "Escalating") == 1  # its clocks run from the declaration

    late = await incidents.set_up(opened)  # the "dead" process was only slow
    assert "scheduler" in late.problems[0] and len(world.incident_channels()) == 1
    assert len(await world.timeline("declared")) == 1 and len(await world.rows("setup")) == 1

    # A declaration accepted at once is never accepted again.
    await _declared(world)
    await world.at(10 * M)
    assert len(await world.timeline("declared")) == 2 and len(await world.rows("setup")) == 2


async def command(world: World, text: str, *, user: str, channel: str) -> None:
    """An in-incident command: answered in its ack once committed; then its posts go."""
    r = await world.bot.send.command(text, user=user, channel=channel)
    answer = r.json()
    assert answer is not None and answer["response_type"] == "ephemeral", r.body
    await world.bot.settled()


async def _declared(world: World) -> str:
    await world.bot.send.command("SEV-1 Disk full", user=world.alice, channel=world.general)

    def pinned() -> bool:
        chans = world.incident_channels()
        return bool(chans and world.slack.channels[chans[0]].pins)

    await eventually(pinned)
    return world.incident_channels()[0]


async def outbox(world: World, text: str) -> list[OutboxRow]:
    """The outbox rows whose message says `text`."""
    rows = await world.bot.services.deliverer.outbox.rows()
    return [r for r in rows if text in str((r.payload.get("message") or {}).get("text"))]


@pytest.mark.parametrize("cut", ["channel", "dm"])
async def test_a_reminder_cut_short_is_finished_once(world: World, cut: str) -> None:
    """The reminder is recorded with its messages in one transaction; the delivery that
    died after Slack took the post is taken back after the lease and finds it."""
    ch = await _declared(world)
    await world.at(0 * M)  # the page at declaration
    await command(world, "ack", user="U0PRIMARY", channel=ch)
    where = ch if cut == "channel" else world.alice
    world.chat.post_to(where, "due a status update")
    await world.at(15 * M)
    assert world.chat.crashed
    await world.at(15 * M + LEASE + M)

    assert world.count(ch, "due a status update") == 1
    assert world.count(world.alice, "due a status update") == 1
    assert len(await world.timeline("nag")) == 1
    fired = [(j.state, j.attempts) for j in await world.rows("nag") if j.state != "pending"]
    assert fired == [("done", 1)], "recorded once, at once"
    rows = {r.conversation: r for r in await outbox(world, "due a status update")}
    cut_row = rows[where]
    assert (cut_row.state, cut_row.attempts) == ("done", 2), "tried again, found, not resent"
    assert cut_row.result and cut_row.result["ts"]


@pytest.mark.parametrize("cut", ["channel", "dm"])
async def test_a_page_cut_short_is_finished_once(world: World, cut: str) -> None:
    ch = await _declared(world)
    if cut == "channel":
        world.chat.post_to(ch, "Escalating")
    else:
        world.chat.post_to("U0PRIMARY", "You are paged")
    await world.at(0 * M)
    assert world.chat.crashed
    await world.at(LEASE + M / 2)  # taken back before the next level is due (5 min)

    assert world.count(ch, "Escalating") == 1
    assert world.count("U0PRIMARY", "You are paged") == 1
    assert len(await world.timeline("escalation")) == 1
    pages = [j for j in await world.rows("escalate") if j.key.startswith("escalate:0")]
    assert [(j.state, j.attempts) for j in pages] == [("done", 1)]


async def test_a_page_exists_before_anything_is_sent(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An acknowledgement can never find "no page waiting" while the page's DMs are out:
    the page is recorded in the transaction that writes them."""
    await _declared(world)
    seen: list[int] = []
    inner_post = world.chat.inner.post

    async def post(where: str, message: Message) -> str:
        if where == "U0PRIMARY":
            async with world.bot.services.store.session() as s:
                seen.append(len((await s.exec(select(Page))).all()))
        return await inner_post(where, message)

    monkeypatch.setattr(world.chat.inner, "post", post)
    await world.at(0 * M)
    assert world.count("U0PRIMARY", "You are paged") == 1
    assert seen == [1], "the page row was there when its DM went out"


async def test_a_reminder_cut_short_then_resolved_is_not_sent_twice(world: World) -> None:
    ch = await _declared(world)
    await world.at(0 * M)
    await command(world, "ack", user="U0PRIMARY", channel=ch)
    world.chat.post_to(ch, "due a status update")  # dies after Slack took the channel post
    await world.at(15 * M)
    assert world.chat.crashed
    await command(world, "resolve Fixed", user=world.alice, channel=ch)
    await world.at(15 * M + LEASE + M)

    # Recorded once; each message out once (the DM went beside the channel post).
    assert world.count(ch, "due a status update") == 1
    assert world.count(world.alice, "due a status update") == 1
    assert len(await world.timeline("nag")) == 1
    rows = {r.conversation: r for r in await outbox(world, "due a status update")}
    result = rows[ch].result
    assert rows[ch].state == "done" and result is not None and result.get("ts"), "found, not resent"


async def test_a_reminder_not_yet_delivered_when_resolved_is_not_sent(world: World) -> None:
    ch = await _declared(world)
    await world.at(0 * M)
    await command(world, "ack", user="U0PRIMARY", channel=ch)
    # Slack fails both of the reminder's posts for a while (beyond slack-sdk's retries).
    world.slack.fail("chat.postMessage", error="internal_error", times=2)
    await world.at(15 * M)
    assert world.count(ch, "due a status update") == 0
    await command(world, "resolve Fixed", user=world.alice, channel=ch)
    await world.at(20 * M)

    assert world.count(ch, "due a status update") == 0
    assert world.count(world.alice, "due a status update") == 0
    rows = await outbox(world, "due a status update")
    assert len(rows) == 2 and all(r.result == {"skipped": True} for r in rows)
