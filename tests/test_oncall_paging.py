"""A page to a schedule reaches whoever is on call at that moment (real bot, fake Slack,
virtual clock); the page keeps who that was."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import VirtualClock
from bot.incidents.timeline import TimelineKind
from bot.store import jobs
from bot.store.tables import Page
from tests.harness import ROOT, Bot, eventually, start_bot
from tests.helpers import say
from tests.slack_server import FakeSlack

POLICY = ROOT / "tests/policies/oncall.yaml"
# Monday 30 March 2026, the first Monday of summer time in Paris: the primary on-call
# hands over from Ben to Cara at 09:00 Paris, 07:00 UTC.
HANDOFF = datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
M = timedelta(minutes=1)


@dataclass
class World:
    slack: FakeSlack
    bot: Bot
    clock: VirtualClock
    declarer: str
    general: str

    async def declare(self, text: str) -> str:
        before = {i.id for i in await self.bot.services.store.list_open()}
        r = await self.bot.send.command(text, user=self.declarer, channel=self.general)
        assert r.status == 200
        opened = await eventually(lambda: self._opened(before), within=10)
        await self.bot.services.scheduler.run_due()
        await self.bot.settled()
        return str(opened)

    async def at(self, t: datetime) -> None:
        """Move the clock and let the scheduler do one pass."""
        self.clock.set(t)
        await self.bot.services.scheduler.run_due()
        await self.bot.settled()

    async def _opened(self, before: set[int]) -> str | None:
        new = [i for i in await self.bot.services.store.list_open() if i.id not in before]
        return new[0].channel_id if new else None


def add_oncall_team(slack: FakeSlack) -> tuple[str, str]:
    """Who tests/policies/oncall.yaml names; returns (the declarer, #general)."""
    for name in ("ana", "ben", "cara", "manager"):
        slack.add_user(name, id=f"U0{name.upper()}")
    slack.add_usergroup("oncall", [], id="S0ONCALL")
    dora = slack.add_user("dora")
    general = slack.add_channel("general", members=[dora])
    slack.add_channel("incidents")
    return dora, general


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    slack = FakeSlack.from_manifest(ROOT / "manifest.yml")
    await slack.start()
    dora, general = add_oncall_team(slack)
    clock = VirtualClock(HANDOFF - 2 * 60 * M)
    bot = await start_bot(
        slack, f"sqlite+aiosqlite:///{tmp_path}/bot.db", policy=POLICY, clock=clock
    )
    yield World(slack, bot, clock, dora, general)
    await bot.stop()
    await slack.stop()


async def on_call_paged(bot: Bot, incident_id: int) -> list[object]:
    entries = await bot.services.store.timeline(incident_id)
    return [(e.data or {}).get("on_call") for e in entries if e.kind == TimelineKind.ESCALATION]


async def pages_of(bot: Bot, incident_id: int) -> list[Page]:
    async with bot.services.store.session() as s:
        return list(await jobs.pages_of(s, incident_id))


def paged(slack: FakeSlack, user: str) -> list[str]:
    return [m.text for m in slack.dms.get(user, []) if "You are paged" in m.text]


async def test_a_page_to_a_schedule_reaches_who_is_on_call_at_that_moment(world: World) -> None:
    world.clock.set(HANDOFF - M)
    before = await world.declare("SEV-1 Checkout down")
    # A minute before the hand-off: Ben is primary; he is invited and DMed, Cara is not.
    assert "U0BEN" in world.slack.channels[before].members
    assert "U0CARA" not in world.slack.channels[before].members
    assert len(paged(world.slack, "U0BEN")) == 1 and not paged(world.slack, "U0CARA")
    world.clock.set(HANDOFF)
    after = await world.declare("SEV-1 Payments down")
    assert "U0CARA" in world.slack.channels[after].members
    assert "U0BEN" not in world.slack.channels[after].members
    assert len(paged(world.slack, "U0CARA")) == 1 and len(paged(world.slack, "U0BEN")) == 1
    # The page keeps who was on call then: in its timeline entry and with its targets.
    assert await on_call_paged(world.bot, 1) == [{"primary": "U0BEN"}]
    assert await on_call_paged(world.bot, 2) == [{"primary": "U0CARA"}]
    [first] = await pages_of(world.bot, 1)
    assert first.targets is not None
    assert [(t["key"], t["kind"], t["users"]) for t in first.targets[:1]] == [
        ("primary", "schedule", ["U0BEN"])
    ]
    # After the hand-off Ben still acknowledges the page he got; Cara (on call now) cannot.
    refused = await say(world.bot, "ack", "U0CARA", before)
    assert "No page of INC-1 is addressed to you" in refused
    assert "Acknowledged (1 page)" in await say(world.bot, "ack", "U0BEN", before)
    [first] = await pages_of(world.bot, 1)
    assert first.acked_by == "U0BEN"


async def test_the_secondary_layer_is_paged_when_the_primary_does_not_ack(world: World) -> None:
    world.clock.set(HANDOFF - M)
    channel = await world.declare("SEV-1 Checkout down")
    world.clock.set(HANDOFF + 5 * M)  # after the hand-off: the secondary is now Ben
    await world.bot.services.scheduler.run_due()
    await world.bot.settled()
    assert "U0BEN" in world.slack.channels[channel].members
    assert any("Secondary On-Call" in text for text in paged(world.slack, "U0BEN"))


def notices(slack: FakeSlack, user: str) -> list[str]:
    return [m.text for m in slack.dms.get(user, []) if "You go on call" in m.text]


async def test_the_person_coming_on_call_is_told_before_the_handoff(world: World) -> None:
    at = world.at
    await at(HANDOFF - 61 * M)  # notify_before is 1h
    assert not notices(world.slack, "U0CARA")
    await at(HANDOFF - 60 * M)
    assert notices(world.slack, "U0CARA") == [
        ":pager: You go on call for *oncall/primary* at Mon 30 Mar 09:00 CEST, taking over "
        "from <@U0BEN>. `/incident oncall` shows who is on call now."
    ]
    assert len(notices(world.slack, "U0BEN")) == 1  # the secondary, from Ana
    await at(HANDOFF - 30 * M)
    await at(HANDOFF + M)
    assert len(notices(world.slack, "U0CARA")) == 1, "once per hand-off"


async def test_the_user_group_follows_the_handoff(world: World) -> None:
    group = world.slack.usergroups["S0ONCALL"]

    at = world.at
    await at(HANDOFF - 2 * M)
    assert group.users == ["U0BEN"]  # whom a page to the schedule reaches: the primary
    updates = len(world.slack.calls_to("usergroups.users.update"))
    await at(HANDOFF - M)
    assert len(world.slack.calls_to("usergroups.users.update")) == updates, "nothing changed"
    await at(HANDOFF)
    assert group.users == ["U0CARA"]
    await at(HANDOFF + 7 * 24 * 60 * M)
    assert group.users == ["U0ANA"]


async def test_a_severity_inviting_a_schedule_invites_who_is_on_call(world: World) -> None:
    world.clock.set(HANDOFF - M)
    before = await world.declare("SEV-2 Slow search")
    assert "U0ANA" in world.slack.channels[before].members  # secondary until 09:00
    world.clock.set(HANDOFF)
    after = await world.declare("SEV-2 Slow checkout")
    assert "U0BEN" in world.slack.channels[after].members
    assert "U0ANA" not in world.slack.channels[after].members
    assert not paged(world.slack, "U0BEN"), "invited, not paged"
