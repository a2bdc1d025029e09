"""`/incident oncall` anywhere: who is on call now and next; overrides by command
(stored, logged, shown in the App Home, followed by the next page); bad input answered
with what would work, changing nothing."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.clock import VirtualClock
from bot.store import oncall as rows
from tests.harness import ROOT, eventually, start_bot
from tests.helpers import say
from tests.slack_server import FakeSlack
from tests.test_oncall_paging import HANDOFF, POLICY, M, World, add_oncall_team, paged


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    slack = FakeSlack.from_manifest(ROOT / "manifest.yml")
    await slack.start()
    dora, general = add_oncall_team(slack)
    clock = VirtualClock(HANDOFF - 30 * M)
    bot = await start_bot(
        slack, f"sqlite+aiosqlite:///{tmp_path}/bot.db", policy=POLICY, clock=clock
    )
    yield World(slack, bot, clock, dora, general)
    await bot.stop()
    await slack.stop()


async def test_oncall_says_who_now_and_next_and_when(world: World) -> None:
    text = await say(world.bot, "oncall", world.declarer, world.general)
    assert "*oncall/primary*: <@U0BEN> now; <@U0CARA> from Mon 30 Mar 09:00 CEST" in text
    assert "*oncall/secondary*: <@U0ANA> now; <@U0BEN> from Mon 30 Mar 09:00 CEST" in text
    assert "office/day" in text  # every schedule without a name
    text = await say(world.bot, "oncall office", world.declarer, world.general)
    assert "oncall/" not in text and "*office/night*: <@U0CARA> now" in text
    text = await say(world.bot, "oncall ofice", world.declarer, world.general)
    assert 'There is no schedule "ofice"; schedules: oncall, office.' in text


async def test_an_override_by_command_is_stored_logged_shown_and_paged(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.incidents.oncall")
    ana = "<@U0ANA|ana>"
    text = await say(
        world.bot,
        f"oncall override {ana} 2026-03-30T09:00 2026-03-30T12:00 oncall/primary",
        world.declarer,
        world.general,
    )
    assert text == (
        "<@U0ANA> is on call on *oncall/primary* from Mon 30 Mar 09:00 CEST until "
        "Mon 30 Mar 12:00 CEST."
    )
    stored = await rows.overrides(world.bot.services.store)
    assert [(o.user_id, o.layer, o.created_by) for o in stored] == [
        ("U0ANA", "primary", world.declarer)
    ]
    assert any("on-call override 1: U0ANA on oncall/primary" in r.message for r in caplog.records)
    # Only inside its window (from the hand-off): before it Ben, during it Ana, not Cara.
    first = await world.declare("SEV-1 Checkout down")
    assert "U0BEN" in world.slack.channels[first].members
    world.clock.set(HANDOFF + M)
    second = await world.declare("SEV-1 Payments down")
    assert "U0ANA" in world.slack.channels[second].members
    assert "U0CARA" not in world.slack.channels[second].members
    assert paged(world.slack, "U0ANA")
    text = await say(world.bot, "oncall oncall", world.declarer, world.general)
    assert "<@U0ANA> now; <@U0CARA> from Mon 30 Mar 12:00 CEST" in text
    # The App Home shows who is on call and the override.
    r = await world.bot.send.event(
        {"type": "app_home_opened", "user": world.declarer, "tab": "home", "event_ts": "1.0"},
        event_id="Ehome",
    )
    assert r.status == 200
    await eventually(lambda: [v for v in world.slack.views if v.method == "views.publish"])
    home = str([v for v in world.slack.views if v.method == "views.publish"][-1].view)
    assert "On call" in home and "override: <@U0ANA> on *oncall/primary*" in home


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (
            "oncall override <@U0ANA|ana> 2026-03-30T12:00 2026-03-30T08:00 oncall",
            "The override ends before it starts",
        ),
        ("oncall override <@U0NOBODY|x> 2026-03-30T08:00 2026-03-30T12:00", "not in this Slack"),
        (
            "oncall override <@U0ANA|ana> 2026-03-30T08:00 2026-03-30T12:00 pager",
            'There is no schedule "pager"; schedules: oncall, office.',
        ),
        (
            "oncall override <@U0ANA|ana> 2026-03-30T08:00 2026-03-30T12:00 oncall/third",
            'Schedule "oncall" has no layer "third"; layers: primary, secondary.',
        ),
        ("oncall override <@U0ANA|ana> 2026-03-30T08:00 2026-03-30T12:00", "Say which schedule"),
        ("oncall override <@U0ANA|ana> tomorrow 2026-03-30T12:00", "is not a date and time"),
        ("oncall override ana 2026-03-30T08:00 2026-03-30T12:00", "I can't tell who"),
        ("oncall override <@U0ANA|ana> 2026-03-30T08:00", "Give when the override starts"),
        (
            "oncall override <@U0ANA|ana> 2026-03-01T08:00 2026-03-02T12:00 oncall",
            "already over",
        ),
    ],
)
async def test_a_bad_override_is_refused_and_changes_nothing(
    world: World, text: str, says: str
) -> None:
    answer = await say(world.bot, text, world.declarer, world.general)
    assert says in answer, answer
    assert not await rows.overrides(world.bot.services.store)
