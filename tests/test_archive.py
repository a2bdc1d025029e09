"""Archiving an incident channel the policy's `archive_after` after resolution, a last
message first, never while the incident is open; across a restart. Real bot over
signed HTTP, fake Slack, virtual clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.planning.planner import Kind
from tests.harness import eventually, start_bot
from tests.helpers import ClocksBot, pending_jobs, say, start_clocks_bot

T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)


class World(ClocksBot):
    async def declare(self, text: str) -> str:
        before = len(self.slack.responses)
        await self.bot.send.command(text, user=self.alice, channel=self.general)
        await eventually(lambda: len(self.slack.responses) > before)
        incident = (await self.bot.services.store.list_open())[0]
        assert incident.channel_id
        await self.bot.settled()
        return incident.channel_id

    async def at(self, delta: timedelta) -> None:
        self.clock.set(T0 + delta)
        await self.bot.services.scheduler.run_due()
        await self.bot.settled()

    def archived(self, channel: str) -> bool:
        return self.slack.channels[channel].is_archived


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    archive = ('  announce: "#incidents"\n', '  announce: "#incidents"\n  archive_after: 7d\n')
    w = await start_clocks_bot(World, tmp_path, T0, change=archive)
    yield w
    await w.bot.stop()
    await w.slack.stop()


async def test_a_channel_is_archived_its_days_after_resolution_last_message_first(
    world: World,
) -> None:
    ch = await world.declare("SEV-2 Search slow")
    await world.at(H)
    answer = await say(world.bot, "resolve Reindexed", world.alice, ch)
    assert "resolved" in answer.lower()
    await world.bot.settled()
    assert await pending_jobs(world.bot, Kind.ARCHIVE) == [T0 + H + 7 * D]
    await world.at(H + 7 * D - timedelta(minutes=1))
    assert not world.archived(ch)
    assert world.slack.calls_to("conversations.archive") == []
    await world.at(H + 7 * D)
    assert world.archived(ch)
    # The last message went before the archive, and both went once.
    last = world.slack.messages(ch)[-1]
    assert "archiving this channel" in last.text
    assert len(world.slack.calls_to("conversations.archive")) == 1
    await world.at(H + 8 * D)
    assert len(world.slack.calls_to("conversations.archive")) == 1
    assert await pending_jobs(world.bot, Kind.ARCHIVE) == []


async def test_an_open_incident_is_never_archived(world: World) -> None:
    ch = await world.declare("SEV-2 Search slow")
    assert await pending_jobs(world.bot, Kind.ARCHIVE) == []
    for days in (7, 8, 30):
        await world.at(days * D)
    assert not world.archived(ch)
    assert world.slack.calls_to("conversations.archive") == []


async def test_the_archive_survives_a_restart(world: World) -> None:
    ch = await world.declare("SEV-2 Search slow")
    await say(world.bot, "resolve Reindexed", world.alice, ch)
    await world.bot.settled()
    await world.bot.stop()
    world.clock.set(T0 + 7 * D + H)  # it fell due while the bot was down
    world.bot = await start_bot(world.slack, world.db, policy=world.policy, clock=world.clock)
    await world.bot.services.scheduler.run_due()
    await world.bot.settled()
    assert world.archived(ch)
    assert len(world.slack.calls_to("conversations.archive")) == 1
