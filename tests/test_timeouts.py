"""Web API calls that time out. Slack may have done the work and lost the answer, or
never got the request: either way every step happens once. A timed-out post is looked
for (by the key in its metadata) before it is sent again; a timed-out channel creation
is adopted if Slack made it; calls safe to repeat are repeated."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import VirtualClock
from tests.harness import ROOT, Bot, eventually, start_bot
from tests.helpers import DECLARING_METHODS, add_test_team
from tests.slack_server import FakeSlack

T0 = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
STALL = 2.5  # seconds; the bot gives up on a call after 1


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[FakeSlack, Bot, str, str]]:
    async with FakeSlack.from_manifest(ROOT / "manifest.yml") as slack:
        alice, general = add_test_team(slack)
        bot = await start_bot(
            slack,
            f"sqlite+aiosqlite:///{tmp_path}/b.db",
            clock=VirtualClock(T0),
            slack_timeout=1,
        )
        try:
            yield slack, bot, alice, general
        finally:
            await bot.stop()


async def declare(slack: FakeSlack, bot: Bot, alice: str, general: str) -> str:
    before = len(slack.responses)
    await bot.send.command("SEV1 Slow Slack", user=alice, channel=general)
    await eventually(lambda: len(slack.responses) > before, within=20)
    await bot.settled()  # what the set-up left to the outbox (#incidents) goes too
    channels = [c for c in slack.channels.values() if c.name.startswith("incident-")]
    assert [c.name for c in channels] == ["incident-20260314-slow-slack"], "never a -2"
    return channels[0].id


def once(slack: FakeSlack, where: str, text: str) -> None:
    found = [m.text for m in slack.messages(where) if text in m.text]
    assert len(found) == 1, (text, [m.text for m in slack.messages(where)])


@pytest.mark.parametrize("processed", [True, False], ids=["answer-lost", "never-arrived"])
async def test_every_declaring_call_timing_out_once_still_sets_up_once(
    world: tuple[FakeSlack, Bot, str, str], processed: bool, caplog: pytest.LogCaptureFixture
) -> None:
    slack, bot, alice, general = world
    for method in DECLARING_METHODS:
        slack.stall(method, STALL, processed=processed)
    ch = await declare(slack, bot, alice, general)
    channel = slack.channels[ch]
    once(slack, ch, "INC-1: Slow Slack")
    assert len(channel.pins) == 1
    assert {alice, "U0LEAD"} <= channel.members
    assert channel.topic.startswith("SEV1 Slow Slack")
    once(slack, "incidents", "INC-1 declared")
    assert "Incident set up with problems" not in " ".join(m.text for m in channel.messages)
    timed_out = {r.getMessage().split()[1] for r in caplog.records if "timed out" in r.message}
    assert timed_out == set(DECLARING_METHODS)


async def test_a_reminder_whose_posts_time_out_arrives_once(
    world: tuple[FakeSlack, Bot, str, str],
) -> None:
    slack, bot, alice, general = world
    ch = await declare(slack, bot, alice, general)
    slack.stall("chat.postMessage", STALL, processed=True, times=2)  # channel, then DM
    clock = bot.services.clock
    assert isinstance(clock, VirtualClock)
    clock.advance(timedelta(minutes=15))
    assert await bot.services.scheduler.run_due() >= 1
    once(slack, ch, "due a status update")
    once(slack, alice, "due a status update")


async def test_a_post_that_never_gets_an_answer_is_retried_not_hung(
    world: tuple[FakeSlack, Bot, str, str],
) -> None:
    """The update is committed with its post and confirmed at once; the post, whose
    every try times out, waits in the outbox and goes out once Slack answers again."""
    slack, bot, alice, general = world
    ch = await declare(slack, bot, alice, general)
    slack.stall("chat.postMessage", STALL, processed=False, times=3)
    r = await bot.send.command("update identified Found it", user=alice, channel=ch)
    answer = r.json()
    assert answer is not None and "Update posted" in answer["text"]
    incident = await bot.services.store.by_channel(ch)
    assert incident is not None and incident.last_update_at is not None  # the change is kept

    async def waiting() -> bool:
        rows = await bot.services.deliverer.outbox.rows(incident.id)
        return any(r.error == "timeout" and r.state == "pending" for r in rows)

    await eventually(waiting, within=20)
    clock = bot.services.clock
    assert isinstance(clock, VirtualClock)
    clock.advance(timedelta(seconds=5))  # the retry's wait
    await bot.services.scheduler.run_due()
    once(slack, ch, "Found it")
