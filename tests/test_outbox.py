"""The outbox: side effects written in the change's transaction, delivered once, in
order per conversation, paced per channel in the database, most severe first; a
delivery cut short is found, not repeated; transient errors retried, permanent ones
kept as failed without holding up the rest. Real SQLite (and PostgreSQL for two
workers), the real gateway, the local Slack server; time is a virtual clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import VirtualClock
from bot.deliverer import Deliverer, Pace
from bot.incidents.chat import Message
from bot.incidents.outbox import Outbox
from bot.settings import Settings
from bot.slack.gateway import SlackChat, make_client
from bot.store.engine import make_engine, migrate
from bot.store.outbox import OutboxState, OutboxStore
from bot.store.repo import Store
from bot.store.tables import OutboxRow
from tests.helpers import postgres_database
from tests.slack_server import FakeSlack

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@dataclass
class Rig:
    slack: FakeSlack
    store: Store
    rows: OutboxStore
    outbox: Outbox
    chat: SlackChat
    clock: VirtualClock

    def deliverer(self, worker: str = "w1", **kw: Any) -> Deliverer:
        kw.setdefault("pace", Pace(per_second=1.0, burst=100))
        return Deliverer(self.rows, self.chat, self.clock, worker=worker, **kw)

    async def write(self, *adds: Any) -> None:
        """Enqueue in one transaction, as a use case does with its change."""
        async with self.store.session() as s:
            for add in adds:
                await add(s)
            await s.commit()

    def post(self, where: str, text: str, key: str, **kw: Any) -> Any:
        async def add(s: AsyncSession) -> None:
            await self.outbox.post(s, where, Message(text=text), key=key, **kw)

        return add

    def channel(self, name: str) -> str:
        """A channel the bot is in, as an incident channel it created is."""
        return self.slack.add_channel(name, members=[self.slack.bot_user_id])

    def texts(self, channel: str) -> list[str]:
        return [m.text for m in self.slack.messages(channel)]


async def _rig(slack: FakeSlack, url: str, clock: VirtualClock) -> Rig:
    engine = make_engine(url)
    await migrate(engine)
    store = Store(engine)
    chat = SlackChat(
        make_client(Settings(slack_bot_token=slack.bot_token, slack_api_url=slack.api_url))
    )
    return Rig(slack, store, OutboxStore(store), Outbox(clock.now), chat, clock)


@pytest.fixture
async def rig(slack: FakeSlack, tmp_path: Path) -> AsyncIterator[Rig]:
    r = await _rig(slack, f"sqlite+aiosqlite:///{tmp_path}/o.db", VirtualClock(T0))
    yield r
    await r.chat.close()
    await r.store.close()


async def test_a_conversations_rows_go_in_the_order_written(rig: Rig) -> None:
    a = rig.channel("incident-a")
    b = rig.channel("incident-b")
    await rig.write(*(rig.post(a, f"a{i}", f"a{i}") for i in range(5)))
    await rig.write(*(rig.post(b, f"b{i}", f"b{i}") for i in range(3)))
    # Each pass claims one row per conversation: five passes for a's five.
    assert await rig.deliverer().run_once() == 8
    assert rig.texts(a) == [f"a{i}" for i in range(5)]
    assert rig.texts(b) == [f"b{i}" for i in range(3)]
    assert {r.state for r in await rig.rows.rows()} == {OutboxState.DONE}


async def test_enqueueing_a_key_twice_or_in_a_rolled_back_change_adds_nothing(rig: Rig) -> None:
    a = rig.channel("incident-a")
    await rig.write(rig.post(a, "once", "k1"), rig.post(a, "again", "k1"))
    async with rig.store.session() as s:
        await rig.outbox.post(s, a, Message(text="rolled back"), key="k2")
        await s.rollback()
    await rig.deliverer().run_once()
    assert rig.texts(a) == ["once"]


async def test_the_pace_is_per_channel_and_kept_in_the_database(rig: Rig) -> None:
    busy = rig.channel("incident-busy")
    calm = rig.channel("incident-calm")
    person = rig.slack.add_user("oncall")
    await rig.write(*(rig.post(busy, f"busy{i}", f"busy{i}") for i in range(4)))
    await rig.write(rig.post(calm, "calm", "calm"), rig.post(person, "page", "dm1"))
    await rig.write(rig.post(person, "page 2", "dm2"))
    first = rig.deliverer("w1", pace=Pace(per_second=1.0, burst=2))
    await first.run_once()
    # A burst of two in the busy channel; the calm one and the DMs are not held up.
    assert rig.texts(busy) == ["busy0", "busy1"]
    assert rig.texts(calm) == ["calm"]
    assert len(rig.slack.calls_to("chat.postMessage")) == 5
    # Another worker keeps to the same budget: it is in the database.
    second = rig.deliverer("w2", pace=Pace(per_second=1.0, burst=2))
    await second.run_once()
    assert rig.texts(busy) == ["busy0", "busy1"]
    rig.clock.advance(timedelta(seconds=1))
    await second.run_once()
    assert rig.texts(busy) == ["busy0", "busy1", "busy2"]
    rig.clock.advance(timedelta(seconds=1))
    await first.run_once()
    assert rig.texts(busy) == [f"busy{i}" for i in range(4)]


async def test_the_most_severe_incidents_rows_go_first(rig: Rig) -> None:
    channels = [rig.channel(f"incident-{i}") for i in range(3)]
    await rig.write(rig.post(channels[0], "minor", "m", priority=4))
    await rig.write(rig.post(channels[1], "major", "M", priority=1))
    await rig.write(rig.post(channels[2], "middle", "x", priority=2))
    await rig.deliverer(batch=1).run_once()
    posted = [c.args["channel"] for c in rig.slack.calls_to("chat.postMessage")]
    assert posted == [channels[1], channels[2], channels[0]]


async def test_edits_of_one_message_coalesce_into_the_state_at_delivery(rig: Rig) -> None:
    ch = rig.channel("incident-e")
    state = {"status": "investigating"}
    deliverer = rig.deliverer()

    async def summary(args: dict[str, Any]) -> Message:
        return Message(text=f"Status: {state['status']} ({args['n']})")

    deliverer.renderers["summary"] = summary
    await rig.write(rig.post(ch, "Status: investigating", "announce"))

    def edit(n: int) -> Any:
        async def add(s: AsyncSession) -> None:
            await rig.outbox.edit(
                s, ch, key=f"edit{n}", render="summary", args={"n": n},
                incident_id=None, ts_from="announce",
            )  # fmt: skip

        return add

    async def pin(s: AsyncSession) -> None:
        await rig.outbox.pin(s, ch, key="pin", incident_id=None, ts_from="announce")

    await rig.write(pin)
    for n in range(1, 4):
        state["status"] = ["identified", "monitoring", "mitigated"][n - 1]
        await rig.write(edit(n))
    await deliverer.run_once()
    (announcement,) = rig.slack.messages(ch)
    assert announcement.text == "Status: mitigated (3)"
    assert len(rig.slack.calls_to("chat.update")) == 1, "three edits waiting were one"
    assert rig.slack.find_channel(ch).pins == [announcement.ts]  # type: ignore[union-attr]
    # An edit asked for after that one went is a new edit.
    state["status"] = "resolved"
    await rig.write(edit(4))
    await deliverer.run_once()
    assert rig.slack.messages(ch)[0].text == "Status: resolved (4)"


async def test_a_done_hook_writes_in_the_transaction_that_marks_delivery(rig: Rig) -> None:
    ch = rig.channel("incident-h")
    seen: list[str] = []
    deliverer = rig.deliverer()

    async def remember(s: AsyncSession, row: OutboxRow, result: dict[str, Any]) -> None:
        seen.append(f"{row.key}={result['ts']}")

    deliverer.on_done["announcement"] = remember
    await rig.write(rig.post(ch, "hello", "a1", then="announcement"))
    await deliverer.run_once()
    assert seen == [f"a1={rig.slack.messages(ch)[0].ts}"]


async def test_a_post_cut_short_after_slack_took_it_is_not_sent_again(rig: Rig) -> None:
    ch = rig.channel("incident-c")
    await rig.write(rig.post(ch, "only once", "crash1"), rig.post(ch, "next", "crash2"))
    # A worker claims the row, Slack takes the post, and the process dies before it
    # marks the row done.
    (row,) = await rig.rows.claim("dead", rig.clock.now(), 10)
    await rig.chat.post(ch, Message(text="only once", step=row.key))
    live = rig.deliverer("live", lease=timedelta(minutes=2))
    await live.run_once()
    assert rig.texts(ch) == ["only once"], "the claim is not taken back before the lease"
    rig.clock.advance(timedelta(minutes=3))
    await live.run_once()
    assert rig.texts(ch) == ["only once", "next"]
    done = {r.key: r for r in await rig.rows.rows()}
    assert done["crash1"].state == OutboxState.DONE
    assert done["crash1"].result == {"ts": rig.slack.messages(ch)[0].ts}


async def test_transient_errors_are_retried_later_and_permanent_ones_kept(rig: Rig) -> None:
    ch = rig.channel("incident-f")
    failed: list[tuple[str, str]] = []
    deliverer = rig.deliverer()

    async def report(row: OutboxRow, code: str) -> None:
        failed.append((row.key, code))

    deliverer.on_failed.append(report)
    await rig.write(
        rig.post(ch, "first", "t1"),
        rig.post("C0GONE", "lost", "t2"),
        rig.post(ch, "second", "t3"),
    )
    # Beyond slack-sdk's own retries: the row waits, and holds its conversation's order.
    rig.slack.fail("chat.postMessage", error="internal_error", times=1)
    await deliverer.run_once()
    assert rig.texts(ch) == []
    rows = {r.key: r for r in await rig.rows.rows()}
    assert rows["t1"].state == OutboxState.PENDING and rows["t1"].error == "internal_error"
    assert rows["t2"].state == OutboxState.FAILED and rows["t2"].error == "channel_not_found"
    assert failed == [("t2", "channel_not_found")]
    rig.clock.advance(timedelta(seconds=2))
    await deliverer.run_once()
    assert rig.texts(ch) == ["first", "second"]


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    async with postgres_database() as url:
        yield url


async def test_two_workers_on_postgres_deliver_every_row_once_in_order(
    slack: FakeSlack, pg_url: str
) -> None:
    clock = VirtualClock(T0)
    one, two = await _rig(slack, pg_url, clock), await _rig(slack, pg_url, clock)
    channels = [slack.add_channel(f"incident-{i}", members=[slack.bot_user_id]) for i in range(20)]
    for i, ch in enumerate(channels):
        await one.write(*(one.post(ch, f"{i}:{n}", f"{i}:{n}") for n in range(10)))
    workers = [one.deliverer("w1", concurrency=8), two.deliverer("w2", concurrency=8)]
    for _ in range(30):
        await asyncio.gather(*(w.run_once() for w in workers))
        if all(len(slack.messages(ch)) == 10 for ch in channels):
            break
    for i, ch in enumerate(channels):
        assert one.texts(ch) == [f"{i}:{n}" for n in range(10)]
    assert len(slack.calls_to("chat.postMessage")) == 200, "every row exactly once"
    for r in (one, two):
        await r.chat.close()
        await r.store.close()
