"""Reminders and escalations end to end on a virtual clock: real bot, fake Slack, SQLite."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from bot.clock import VirtualClock
from bot.slack.ids import Action
from bot.store.tables import DueJob, Page
from tests.harness import ROOT, Bot, start_bot
from tests.helpers import add_clocks_team, declare_by_command
from tests.slack_server import FakeSlack

POLICY = ROOT / "tests/policies/clocks.yaml"
T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
M = timedelta(minutes=1)


class World:
    def __init__(self, slack: FakeSlack, bot: Bot, clock: VirtualClock, db: str) -> None:
        self.slack, self.bot, self.clock, self.db = slack, bot, clock, db
        self.alice = ""
        self.general = ""

    async def declare(self, text: str) -> str:
        return await declare_by_command(self.bot, text, self.alice, self.general)

    async def at(self, delta: timedelta) -> int:
        """Move the clock to T0 + delta and let the scheduler do one pass."""
        self.clock.set(T0 + delta)
        return await self.bot.services.scheduler.run_due()

    def nags(self, channel: str) -> list[str]:
        return [m.text for m in self.slack.messages(channel) if "status update" in m.text]

    def escalations(self, channel: str) -> list[str]:
        return [m.text for m in self.slack.messages(channel) if "Escalating" in m.text]


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    slack = FakeSlack.from_manifest(ROOT / "manifest.yml")
    await slack.start()
    add_clocks_team(slack)
    alice = slack.add_user("alice")
    general = slack.add_channel("general", members=[alice])
    clock = VirtualClock(T0)
    db = f"sqlite+aiosqlite:///{tmp_path}/bot.db"
    bot = await start_bot(slack, db, policy=POLICY, clock=clock)
    w = World(slack, bot, clock, db)
    w.alice, w.general = alice, general
    yield w
    await w.bot.stop()
    await slack.stop()


async def test_declare_stores_the_clocks_with_the_incident(world: World) -> None:
    await world.declare("SEV-1 Checkout down")
    async with world.bot.services.store.session() as s:
        rows = (await s.exec(select(DueJob).where(DueJob.state == "pending"))).all()
    assert {(r.kind, r.level, r.due_at) for r in rows} == {
        ("nag", None, T0 + 15 * M),
        ("escalate", 0, T0),
        ("escalate", 3, T0 + timedelta(hours=2)),
    }


async def test_nag_mentions_the_commander_in_channel_and_dm_with_buttons(world: World) -> None:
    ch = await world.declare("SEV-1 Checkout down")
    assert await world.at(14 * M) == 1  # the primary, paged at declaration
    assert world.nags(ch) == []
    assert await world.at(15 * M) == 1
    [nag] = [m for m in world.slack.messages(ch) if "status update" in m.text]
    assert f"<@{world.alice}>" in nag.text
    buttons = [
        e["action_id"] for b in nag.blocks or [] if b["type"] == "actions" for e in b["elements"]
    ]
    assert buttons == [Action.POST_UPDATE, Action.SNOOZE]
    dms = [m for m in world.slack.dms.get(world.alice, []) if "status update" in m.text]
    assert len(dms) == 1
    # Repeated at the cadence, one cadence after the last one sent.
    await world.at(29 * M)
    assert len(world.nags(ch)) == 1
    await world.at(30 * M)
    assert len(world.nags(ch)) == 2


async def test_missed_ticks_fire_once_late_not_once_per_tick(world: World) -> None:
    ch = await world.declare("SEV-2 Search slow")
    await world.at(0 * M)
    await world.at(3 * 60 * M)  # six 30-minute cadences passed while "down"
    assert len(world.nags(ch)) == 1
    await world.at(3 * 60 * M + 29 * M)
    assert len(world.nags(ch)) == 1
    await world.at(3 * 60 * M + 30 * M)
    assert len(world.nags(ch)) == 2


async def test_primary_not_acking_pages_secondary_then_manager(world: World) -> None:
    ch = await world.declare("SEV-1 API down")
    await world.at(0 * M)
    assert "U0PRIMARY" in world.slack.channels[ch].members
    assert len(world.escalations(ch)) == 1
    assert any("Primary On-Call" in m.text for m in world.slack.dms.get("U0PRIMARY", []))
    await world.at(4 * M)
    assert "U0SECONDARY" not in world.slack.channels[ch].members
    await world.at(5 * M)
    assert "U0SECONDARY" in world.slack.channels[ch].members
    await world.at(10 * M)
    assert "U0MANAGER" in world.slack.channels[ch].members
    assert len(world.escalations(ch)) == 3


async def test_cto_when_sev1_lasts_over_two_hours_and_channel_target_gets_a_link(
    world: World,
) -> None:
    ch = await world.declare("SEV-1 Data pipeline stuck")
    async with world.bot.services.store.session() as s:
        # Everyone acknowledged quickly: only the unresolved-after rule remains.
        s.add(
            Page(incident_id=1, level=0, reason="at_declare", first_at=T0, last_at=T0, acked_at=T0)
        )
        await s.commit()
    await world.at(119 * M)
    assert "U0CTO" not in world.slack.channels[ch].members
    await world.at(120 * M)
    assert "U0CTO" in world.slack.channels[ch].members
    sec = world.slack.messages("security-incidents")
    assert len(sec) == 1 and ch in sec[0].text


async def test_ignored_nags_escalate(world: World) -> None:
    ch = await world.declare("SEV-2 Emails delayed")
    async with world.bot.services.store.session() as s:
        s.add(
            Page(incident_id=1, level=0, reason="at_declare", first_at=T0, last_at=T0, acked_at=T0)
        )
        await s.commit()
    await world.at(30 * M)
    assert "U0SECONDARY" not in world.slack.channels[ch].members
    await world.at(60 * M)  # the second ignored nag
    assert "U0SECONDARY" in world.slack.channels[ch].members
    assert any("reminders were ignored" in t for t in world.escalations(ch))


async def test_a_restart_keeps_every_clock_and_fires_what_fell_due_once(world: World) -> None:
    ch = await world.declare("SEV-2 Login errors")
    await world.at(0 * M)
    await world.bot.stop()  # the bot goes down for two hours
    world.clock.set(T0 + 2 * 60 * M)
    world.bot = await start_bot(world.slack, world.db, policy=POLICY, clock=world.clock)
    await world.bot.services.scheduler.run_due()
    await world.bot.services.scheduler.run_due()
    assert len(world.nags(ch)) == 1


async def test_two_schedulers_on_one_database_fire_each_row_once(world: World) -> None:
    channels = [await world.declare(f"SEV-1 Incident {i}") for i in range(5)]
    other = await start_bot(world.slack, world.db, policy=POLICY, clock=world.clock)
    try:
        world.clock.set(T0 + 15 * M)
        await asyncio.gather(
            world.bot.services.scheduler.run_due(),
            other.services.scheduler.run_due(),
            world.bot.services.scheduler.run_due(),
            other.services.scheduler.run_due(),
        )
    finally:
        await other.stop()
    for ch in channels:
        assert len(world.nags(ch)) == 1
        assert len(world.escalations(ch)) == 1
    async with world.bot.services.store.session() as s:
        done = (await s.exec(select(DueJob).where(DueJob.state == "done"))).all()
    assert len([j for j in done if j.kind != "setup"]) == 10
    assert len([j for j in done if j.kind == "setup"]) == 5  # each declaration set up once


async def test_a_claim_whose_process_died_is_taken_back_after_the_lease(world: World) -> None:
    ch = await world.declare("SEV-2 Cache misses")
    world.clock.set(T0 + 30 * M)
    async with world.bot.services.store.session() as s:
        for job in (await s.exec(select(DueJob).where(DueJob.state == "pending"))).all():
            job.state, job.claimed_by, job.claimed_at = "claimed", "dead:1", T0 + 30 * M
            s.add(job)
        await s.commit()
    assert await world.at(31 * M) == 0, "a live claim is left alone"
    assert await world.at(33 * M) >= 1
    assert len(world.nags(ch)) == 1


async def test_resolved_incident_never_fires(world: World) -> None:
    ch = await world.declare("SEV-1 Gone soon")
    await world.at(0 * M)
    incident = (await world.bot.services.store.list_open())[0]
    assert incident.id is not None
    await world.bot.services.store.update_incident(incident.id, resolved_at=T0 + M)
    # Resolving through the store directly leaves its rows: the fire-time check stops them.
    await world.at(5 * 60 * M)
    assert world.nags(ch) == [] and len(world.escalations(ch)) == 1
