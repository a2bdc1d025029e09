"""Changing severity applies the new severity's set-up as if it had been declared so
(issue 13): its invitees are invited, its immediate actions posted once, a level paged
for it says why, the announcement channel told when the policy says so. A change that
cannot be made is an ephemeral answer and changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import VirtualClock
from tests.harness import ROOT, Bot, start_bot
from tests.helpers import (
    LEAD,
    DeclaredIncident,
    add_clocks_team,
    declared_under,
    posts,
    say,
)
from tests.slack_server import FakeSlack

T0 = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)


def checklists(slack: FakeSlack, ch: str) -> list[str]:
    return [t for t in posts(slack, ch) if t.startswith("*Immediate actions for SEV1*")]


async def test_a_raise_invites_the_new_severitys_people_and_posts_its_checklist_once(
    incident: DeclaredIncident,
) -> None:
    slack, bot, ch, alice = incident
    assert LEAD not in slack.channels[ch].members, "SEV2 invites only the on-call group"
    assert "SEV1" in await say(bot, "severity SEV1", alice, ch)
    assert LEAD in slack.channels[ch].members
    [checklist] = checklists(slack, ch)
    assert "• Page on-call" in checklist and "• Open a video call" in checklist
    line = next(t for t in posts(slack, ch) if t.startswith("Severity: *SEV2* → *SEV1*"))
    assert "every 15m" in line and "Respond within 5m" in line
    # Down and up again: the immediate actions are not posted a second time.
    await say(bot, "severity SEV2", alice, ch)
    await say(bot, "severity SEV1", alice, ch)
    assert len(checklists(slack, ch)) == 1
    entries = [e for e in await bot.services.store.timeline(1) if e.kind == "severity"]
    assert entries[0].data == {"from": "SEV2", "to": "SEV1"}


async def test_bad_severity_changes_are_answered_and_change_nothing(
    incident: DeclaredIncident,
) -> None:
    slack, bot, ch, alice = incident
    bob = slack.add_user("bob")
    slack.channels[ch].members.add(bob)
    before = len(slack.messages(ch))
    answer = await say(bot, "severity SEV9", alice, ch)
    assert "Unknown severity `SEV9`" in answer and "`SEV1`" in answer
    answer = await say(bot, "severity sev2", alice, ch)
    assert "already SEV2" in answer and "SEV1" in answer, "names what would work"
    assert "may not change the severity" in await say(bot, "severity SEV1", bob, ch)
    incident_row = await bot.services.store.get(1)
    assert incident_row is not None and incident_row.severity == "SEV2"
    assert len(slack.messages(ch)) == before
    assert LEAD not in slack.channels[ch].members


@pytest.fixture
async def broadcasting(tmp_path: Path) -> AsyncIterator[DeclaredIncident]:
    """The test policy with SEV1's updates broadcast to #incidents."""
    async with declared_under(tmp_path, 0, broadcast_updates=True) as declared:
        yield declared


async def test_the_announcement_channel_hears_of_changes_when_the_policy_says_so(
    broadcasting: DeclaredIncident,
) -> None:
    slack, bot, ch, alice = broadcasting
    incidents = slack.channel_by_name("incidents")
    assert incidents is not None
    await say(bot, "update identified SEV2 does not broadcast", alice, ch)
    assert not any("does not broadcast" in t for t in posts(slack, incidents.id))
    await say(bot, "severity SEV1", alice, ch)
    [raised] = [t for t in posts(slack, incidents.id) if "severity raised" in t]
    assert "*SEV2* → *SEV1*" in raised and "Checkout errors" in raised
    await say(bot, "update monitoring fix deployed", alice, ch)
    assert any("fix deployed" in t for t in posts(slack, incidents.id))
    assert any("fix deployed" in t for t in posts(slack, ch))


async def test_a_level_paged_for_the_new_severity_says_the_severity_was_raised(
    tmp_path: Path,
) -> None:
    async with FakeSlack.from_manifest(ROOT / "manifest.yml") as slack:
        add_clocks_team(slack)
        alice = slack.add_user("alice")
        general = slack.add_channel("general", members=[alice])
        clock = VirtualClock(T0)
        bot: Bot = await start_bot(
            slack,
            f"sqlite+aiosqlite:///{tmp_path}/c.db",
            policy=ROOT / "tests/policies/clocks.yaml",
            clock=clock,
        )
        try:
            await bot.send.command("SEV-4 Typo on the pricing page", user=alice, channel=general)
            await bot.settled()
            incident = await bot.services.store.get(1)
            assert incident is not None and incident.channel_id is not None
            ch = incident.channel_id
            assert await bot.services.scheduler.run_due() == 0, "SEV-4 pages nobody"
            clock.advance(timedelta(minutes=10))
            await say(bot, "severity SEV-1", alice, ch)
            assert await bot.services.scheduler.run_due() == 1
            await bot.settled()
            [page] = [t for t in posts(slack, ch) if "Primary On-Call" in t and "Why" in t]
            assert "severity raised to SEV-1" in page and "declaration" not in page
            [dm] = [m.text for m in slack.dms["U0PRIMARY"]]
            assert "severity raised to SEV-1" in dm
        finally:
            await bot.stop()
