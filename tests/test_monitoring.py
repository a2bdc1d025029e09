"""Statuses and the monitoring period (issue 13): `resolved` is never an update status,
by command or by modal; a policy's `monitor_for` makes resolving sooner ask for
confirmation, and at its end the commander is asked, with a button, whether to resolve."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.slack.ids import Action, View
from tests.harness import eventually
from tests.helpers import (
    DeclaredIncident,
    declared_under,
    pending_jobs,
    posts,
    say,
    virtual_clock,
)
from tests.test_controls_slack import errors_of, opened, submit

T0 = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)


async def test_update_resolved_never_leaves_an_open_incident_resolved(
    incident: DeclaredIncident,
) -> None:
    _slack, bot, ch, alice = incident
    answer = await say(bot, "update resolved all good now", alice, ch)
    assert "/incident resolve" in answer and "not an update status" in answer
    inc = await bot.services.store.get(1)
    assert inc is not None and inc.status == "investigating" and inc.resolved_at is None
    assert not [e for e in await bot.services.store.timeline(1) if e.kind == "update"]
    assert await pending_jobs(bot, "nag"), "the reminders go on"
    # The update modal's submission goes through the same use case.
    inc = await bot.services.store.get(1)
    assert inc is not None
    with pytest.raises(Exception, match="not an update status"):
        await bot.services.controls.update(inc, alice, "all good", status="resolved")


@pytest.fixture
async def monitored(tmp_path: Path) -> AsyncIterator[DeclaredIncident]:
    """The test policy with SEV2 monitored for 30 minutes before resolving."""
    async with declared_under(tmp_path, 1, monitor_for="30m") as declared:
        yield declared


async def is_open(bot: Any) -> bool:
    inc = await bot.services.store.get(1)
    assert inc is not None
    return inc.resolved_at is None


async def test_resolving_before_the_monitoring_period_asks_for_confirmation(
    monitored: DeclaredIncident,
) -> None:
    _slack, bot, ch, alice = monitored
    answer = await say(bot, "resolve fixed it", alice, ch)
    assert "30m in *monitoring*" in answer and "not in *monitoring* yet" in answer
    assert "`/incident resolve --now <summary>`" in answer
    await say(bot, "update monitoring deployed the fix", alice, ch)
    virtual_clock(bot).advance(timedelta(minutes=10))
    answer = await say(bot, "resolve fixed it", alice, ch)
    assert "the period ends 2026-03-14 10:00 UTC" in answer
    assert await is_open(bot)
    # The Resolve button's modal asks the same way, on its summary field.
    slack = bot.slack
    r = await bot.send.block_action(
        Action.RESOLVE, user=alice, channel=ch, value="1", message_ts=slack.channels[ch].pins[0]
    )
    assert r.status == 200
    await opened(slack, View.RESOLVE)
    r = await submit(bot, View.RESOLVE, alice, summary="fixed it")
    assert "--now" in errors_of(r)["summary"]
    assert await is_open(bot)
    assert "resolved" in await say(bot, "resolve --now fixed it", alice, ch)
    inc = await bot.services.store.get(1)
    assert inc is not None and inc.resolved_at is not None and inc.summary == "fixed it"


async def test_at_the_end_of_monitoring_the_commander_is_asked_with_a_button(
    monitored: DeclaredIncident,
) -> None:
    slack, bot, ch, alice = monitored
    await say(bot, "status monitoring", alice, ch)
    assert T0 + timedelta(minutes=30) in await pending_jobs(bot, "monitored")
    # Leaving monitoring stops the period; coming back starts it again.
    virtual_clock(bot).advance(timedelta(minutes=5))
    await say(bot, "status identified", alice, ch)
    assert await pending_jobs(bot, "monitored") == []
    await say(bot, "status monitoring", alice, ch)
    assert await pending_jobs(bot, "monitored") == [T0 + timedelta(minutes=35)]
    virtual_clock(bot).set(T0 + timedelta(minutes=35))
    await bot.services.scheduler.run_due()
    await bot.settled()
    asked = "has been in *monitoring* for 30m"
    assert any(asked in t for t in posts(slack, ch))
    dm = next(m for m in slack.dms[alice] if asked in m.text)
    assert dm.blocks is not None and Action.RESOLVE.value in str(dm.blocks)
    im = next(i for i, u in slack.im_channels.items() if u == alice)
    r = await bot.send.block_action(
        Action.RESOLVE, user=alice, channel=im, value="1", message_ts=dm.ts
    )
    assert r.status == 200
    await opened(slack, View.RESOLVE)
    r = await submit(bot, View.RESOLVE, alice, summary="Normal for 30 minutes")
    assert r.status == 200 and not r.body, r.body

    async def resolved() -> bool:
        return not await is_open(bot)

    await eventually(resolved)
