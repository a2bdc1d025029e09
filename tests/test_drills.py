"""Drills: `/incident drill` and the declare modal's checkbox run the policy as it is, but
every page and DM reaches the declarer only, saying who it was for; nothing is announced
or published. Real bot over signed HTTP, fake Slack, virtual clock."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.clock import VirtualClock
from bot.slack.ids import View
from bot.store import jobs
from bot.store.tables import Incident
from tests.harness import ROOT, Bot, eventually, listeners_done, start_bot
from tests.helpers import add_clocks_team, say
from tests.slack_server import FakeSlack

POLICY = ROOT / "tests/policies/clocks.yaml"
T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
M = timedelta(minutes=1)
PAGED = ("U0PRIMARY", "U0SECONDARY", "U0MANAGER", "U0CTO")


class World:
    def __init__(self, slack: FakeSlack, bot: Bot, clock: VirtualClock) -> None:
        self.slack, self.bot, self.clock = slack, bot, clock
        self.alice = slack.add_user("alice")
        self.general = slack.add_channel("general", members=[self.alice])

    async def drill(self, text: str) -> Incident:
        before = len(self.slack.responses)
        r = await self.bot.send.command(f"drill {text}", user=self.alice, channel=self.general)
        assert r.status == 200
        await eventually(lambda: len(self.slack.responses) > before)
        [incident] = await self.bot.services.store.list_open()
        await self.bot.settled()
        return incident

    async def at(self, delta: timedelta) -> None:
        self.clock.set(T0 + delta)
        await self.bot.services.scheduler.run_due()
        await self.bot.settled()

    def dms(self, user: str) -> list[str]:
        return [m.text for m in self.slack.dms.get(user, [])]

    def posts(self, name: str) -> list[str]:
        ch = self.slack.channel_by_name(name)
        assert ch is not None
        return [m.text for m in self.slack.messages(ch.id)]


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    slack = FakeSlack.from_manifest(ROOT / "manifest.yml")
    await slack.start()
    add_clocks_team(slack)
    clock = VirtualClock(T0)
    bot = await start_bot(
        slack, f"sqlite+aiosqlite:///{tmp_path}/bot.db", policy=POLICY, clock=clock
    )
    w = World(slack, bot, clock)
    yield w
    await bot.stop()
    await slack.stop()


async def test_a_drill_pages_only_its_declarer_saying_who_would_have_been_paged(
    world: World,
) -> None:
    incident = await world.drill("SEV-1 Checkout down")
    assert incident.drill
    assert incident.channel_name == "drill-incident-20260504-checkout-down"
    assert incident.channel_id is not None
    # At declaration the policy pages the primary; 5 min without an ack, the secondary,
    # then the manager; after 2 h the CTO and #security-incidents. All of it, for a drill,
    # reaches alice alone.
    for minutes in (0, 5, 10, 120):
        await world.at(minutes * M)
    for user in PAGED:
        assert world.dms(user) == [], user
        assert user not in world.slack.channels[incident.channel_id].members
    notes = [t for t in world.dms(world.alice) if "Drill" in t]
    for user in PAGED:
        assert any(f"would have gone to <@{user}>" in t and "You are paged" in t for t in notes)
    # Nothing announced, nothing in the channels the policy pages.
    assert world.posts("incidents") == []
    assert world.posts("security-incidents") == []
    assert any("would have gone to #incidents" in t and "declared" in t for t in notes)
    assert any("would have gone to #security-incidents" in t for t in notes)
    # The drill's own channel runs as a real incident's would.
    channel = [m.text for m in world.slack.messages(incident.channel_id)]
    assert any("Escalating" in t for t in channel)


async def test_the_declarer_of_a_drill_acknowledges_the_pages_that_reached_them(
    world: World,
) -> None:
    incident = await world.drill("SEV-1 Checkout down")
    await world.at(0 * M)
    assert incident.channel_id is not None
    r = await world.bot.send.command("ack", user=world.alice, channel=incident.channel_id)
    assert "Acknowledged" in r.body, r.body
    # The secondary's timer stopped with the primary's page: nobody more is "paged".
    await world.at(10 * M)
    async with world.bot.services.store.session() as s:
        pages = await jobs.pages_of(s, incident.id)
    assert [(p.level, p.acked_by) for p in pages] == [(0, world.alice)]


async def test_a_drill_is_never_published_and_is_marked_in_export(world: World) -> None:
    incident = await world.drill("SEV-2 Search slow")
    assert incident.channel_id is not None
    answer = await say(
        world.bot, "update --publish investigating Looking", world.alice, incident.channel_id
    )
    assert "drill" in answer.lower()
    exported = await world.bot.services.reports.export(
        incident, await world.bot.services.policy.of(incident)
    )
    assert exported["drill"] is True
    text = await world.bot.services.reports.postmortem(
        incident, await world.bot.services.policy.of(incident), world.clock.now()
    )
    assert text.startswith("> **Drill**")
    assert json.dumps(exported)  # still plain JSON


def _drill_values(title: str, *, drill: bool) -> dict[str, Any]:
    ticked = [{"value": "drill"}] if drill else []
    return {
        "severity": {"severity": {"type": "static_select", "selected_option": {"value": "SEV-1"}}},
        "title": {"title": {"type": "plain_text_input", "value": title}},
        "drill": {"drill": {"type": "checkboxes", "selected_options": ticked}},
    }


async def test_the_declare_modal_checkbox_declares_a_drill(world: World) -> None:
    r = await world.bot.send.command("", user=world.alice, channel=world.general)
    assert r.status == 200
    view = await eventually(
        lambda: next(
            (
                v
                for v in world.slack.current_views.values()
                if v.view["callback_id"] == View.DECLARE
            ),
            None,
        )
    )
    assert any(b.get("block_id") == "drill" for b in view.view["blocks"])
    r = await world.bot.send.view_submission(
        View.DECLARE, _drill_values("Login errors", drill=True), user=world.alice, view_id=view.id
    )
    assert r.status == 200
    await listeners_done()
    [incident] = await eventually(world.bot.services.store.list_open)
    assert incident.drill
    await eventually(lambda: world.slack.channel_by_name("drill-incident-20260504-login-errors"))
    await world.at(0 * M)
    assert world.dms("U0PRIMARY") == []
    assert world.posts("incidents") == []
