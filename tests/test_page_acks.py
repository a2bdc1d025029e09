"""Each page has its own acknowledgement, and a severity's response time is its pages'
deadline: over signed HTTP, on the virtual clock, with the shipped policies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from bot.clock import VirtualClock
from bot.planning.oncall import Rota
from bot.policy.loader import load_policy
from bot.slack.ids import Action
from bot.store.tables import Incident, Page
from tests.harness import ROOT, Bot, eventually, start_bot
from tests.helpers import declare_by_command, say
from tests.slack_server import FakeSlack

T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
M = timedelta(minutes=1)


class World:
    def __init__(self, slack: FakeSlack, bot: Bot, clock: VirtualClock) -> None:
        self.slack, self.bot, self.clock = slack, bot, clock
        self.alice = slack.add_user("alice")
        self.general = slack.add_channel("general", members=[self.alice])

    async def declare(self, text: str) -> str:
        channel = await declare_by_command(self.bot, text, self.alice, self.general)
        await self.bot.settled()
        return channel

    async def at(self, delta: timedelta) -> None:
        self.clock.set(T0 + delta)
        await self.bot.services.scheduler.run_due()
        await self.bot.settled()

    def paged(self, channel: str, level: str) -> list[str]:
        return [m.text for m in self.slack.messages(channel) if f"to *{level}*" in m.text]

    async def pages(self) -> dict[int, Page]:
        async with self.bot.services.store.session() as s:
            return {p.level: p for p in (await s.exec(select(Page))).all()}


async def world_with(tmp_path: Path, policy: Path) -> World:
    """The bot on `policy`, with each of its contacts in the workspace: a user group has
    one member, `<key>-1`; a schedule's participants are users (and its group a group)."""
    slack = FakeSlack.from_manifest(ROOT / "manifest.yml")
    await slack.start()
    pol = load_policy(policy).policy
    for name, schedule in pol.schedules.items():
        people = {p for layer in schedule.layers for p in layer.participants}
        for person in sorted(people):
            slack.add_user(person.lower(), id=person)
        if schedule.usergroup:
            slack.add_usergroup(name, [], id=schedule.usergroup)
    for key, contact in pol.contacts.items():
        if contact.user:
            slack.add_user(key, id=contact.user)
        elif contact.usergroup:
            slack.add_usergroup(key, [slack.add_user(f"{key}-1")], id=contact.usergroup)
        elif contact.channel and contact.channel.startswith("#"):
            slack.add_channel(contact.channel[1:])
    if slack.channel_by_name("incidents") is None:
        slack.add_channel("incidents")
    clock = VirtualClock(T0)
    db = f"sqlite+aiosqlite:///{tmp_path}/bot.db"
    bot = await start_bot(slack, db, policy=policy, clock=clock)
    return World(slack, bot, clock)


def member(w: World, key: str) -> str:
    """Who contact `key` reaches now: a user group's member, or who is on call."""
    pol = w.bot.services.policy.policy
    contact = pol.contacts[key]
    if contact.schedule is not None:
        found = Rota(pol, contact.schedule).who(w.clock.now(), contact.layer)
        assert found is not None, f"nobody on call for {key}"
        return found[1]
    return next(u.id for u in w.slack.users.values() if u.name == f"{key}-1")


@pytest.fixture
async def saltbitter(tmp_path: Path) -> AsyncIterator[World]:
    w = await world_with(tmp_path, ROOT / "policies/saltbitter.yaml")
    yield w
    await w.bot.stop()
    await w.slack.stop()


@pytest.fixture
async def citadel(tmp_path: Path) -> AsyncIterator[World]:
    w = await world_with(tmp_path, ROOT / "policies/default.yaml")
    yield w
    await w.bot.stop()
    await w.slack.stop()


# --- response targets ------------------------------------------------------------------


async def test_001_sev2_primary_acked_in_its_30_minutes_pages_no_secondary(
    saltbitter: World,
) -> None:
    w = saltbitter
    ch = await w.declare("SEV-2 Search is slow")
    await w.at(0 * M)
    assert len(w.paged(ch, "Primary On-Call")) == 1
    await w.at(5 * M)  # SEV-1's 5 minutes do not apply to a SEV-2
    assert w.paged(ch, "Secondary On-Call") == []
    w.clock.set(T0 + 12 * M)
    assert "Acknowledged (1 page)" in await say(w.bot, "ack", member(w, "primary"), ch)
    await w.at(45 * M)
    assert w.paged(ch, "Secondary On-Call") == [], "acknowledged within SEV-2's 30 minutes"


async def test_001_sev2_unacknowledged_pages_the_secondary_at_its_response_time(
    saltbitter: World,
) -> None:
    w = saltbitter
    ch = await w.declare("SEV-2 Search is slow")
    await w.at(0 * M)
    await w.at(29 * M)
    assert w.paged(ch, "Secondary On-Call") == []
    await w.at(30 * M)
    [page] = w.paged(ch, "Secondary On-Call")
    assert "did not acknowledge" in page
    # The secondary's own wait is the playbook's 5 minutes, whatever the severity.
    await w.at(35 * M)
    assert len(w.paged(ch, "Engineering Manager")) == 1


async def test_001_sev1_still_pages_the_secondary_after_5_minutes(saltbitter: World) -> None:
    w = saltbitter
    ch = await w.declare("SEV-1 Payments down")
    await w.at(0 * M)
    await w.at(5 * M)
    assert len(w.paged(ch, "Secondary On-Call")) == 1


async def test_000_p2_page_unacknowledged_past_its_response_time_pages_the_next_level(
    citadel: World,
) -> None:
    w = citadel
    ch = await w.declare("P2 Checkout slow")
    await w.at(0 * M)
    assert len(w.paged(ch, "Platform Lead / Senior Engineer")) == 1
    await w.at(14 * M)
    assert w.paged(ch, "Engineering Manager / CTO") == []
    await w.at(15 * M)  # P2: "15 minutes"
    [page] = w.paged(ch, "Engineering Manager / CTO")
    assert "did not acknowledge" in page
    assert w.paged(ch, "CEO / Executive Team") == []


async def test_000_p2_acknowledged_in_time_waits_for_the_unresolved_hour(citadel: World) -> None:
    w = citadel
    ch = await w.declare("P2 Checkout slow")
    await w.at(0 * M)
    w.clock.set(T0 + 10 * M)
    assert "Acknowledged (1 page)" in await say(w.bot, "ack", "U0000PLATFORM", ch)
    await w.at(30 * M)
    assert w.paged(ch, "Engineering Manager / CTO") == []
    await w.at(60 * M)  # "unresolved after 1 hour"
    [page] = w.paged(ch, "Engineering Manager / CTO")
    assert "still unresolved" in page


# --- per-page acknowledgement ----------------------------------------------------------


async def test_one_persons_ack_leaves_another_levels_page_open(citadel: World) -> None:
    w = citadel
    ch = await w.declare("P2 Checkout slow")
    await w.at(0 * M)
    oncall = member(w, "oncall")
    w.clock.set(T0 + 2 * M)
    assert "Acknowledged (1 page)" in await say(w.bot, "ack", oncall, ch)
    pages = await w.pages()
    assert (pages[0].acked_by, pages[0].acked_at) == (oncall, T0 + 2 * M)
    assert pages[1].acked_at is None, "the Platform Lead's page is still open"
    # Nobody else may answer for the Platform Lead: the commander is told who is awaited.
    refused = await say(w.bot, "ack", w.alice, ch)
    assert "No page of INC-1 is addressed to you" in refused
    assert "Platform Lead / Senior Engineer" in refused
    assert (await w.pages())[1].acked_at is None
    # Its timer still runs: unacknowledged past P2's 15 minutes, the next level.
    await w.at(15 * M)
    assert len(w.paged(ch, "Engineering Manager / CTO")) == 1
    async with w.bot.services.store.session() as s:
        [incident] = (await s.exec(select(Incident))).all()
    assert incident.acknowledged_at == T0 + 2 * M, "the first ack is the incident's"
    acks = await w.bot.services.store.acknowledgements(incident.id)
    assert [(a.level, a.by, a.at) for a in acks] == [(0, oncall, T0 + 2 * M)]


async def test_the_acknowledge_button_in_the_page_dm(citadel: World) -> None:
    w = citadel
    ch = await w.declare("P2 Checkout slow")
    await w.at(0 * M)
    lead = "U0000PLATFORM"
    [dm] = [m for m in w.slack.messages(lead) if "You are paged" in m.text]
    # The DM says what, how bad, why this person, and where to go.
    assert "INC-1 *Checkout slow* (P2 - " in dm.text
    assert "*Impact:*" in dm.text and "Platform Lead / Senior Engineer" in dm.text
    assert "platform_lead" in dm.text and f"<#{ch}>" in dm.text
    buttons = [
        e["action_id"] for b in dm.blocks or [] if b["type"] == "actions" for e in b["elements"]
    ]
    assert buttons == [Action.ACKNOWLEDGE]
    im = next(i for i, u in w.slack.im_channels.items() if u == lead)
    before = len(w.slack.responses)
    r = await w.bot.send.block_action(
        Action.ACKNOWLEDGE, user=lead, channel=im, value="1", message_ts=dm.ts
    )
    assert r.status == 200
    await eventually(lambda: len(w.slack.responses) > before)
    assert "Acknowledged INC-1 (1 page)" in str(w.slack.responses[before]["text"])
    pages = await w.pages()
    assert pages[1].acked_by == lead and pages[0].acked_at is None
    # The channel mention carries the button too.
    mention = next(m for m in w.slack.messages(ch) if "to *On-Call Engineer*" in m.text)
    assert any(b["type"] == "actions" for b in mention.blocks or [])
    # An outsider's press acknowledges nothing.
    outsider = w.slack.add_user("mallory")
    before = len(w.slack.responses)
    await w.bot.send.block_action(
        Action.ACKNOWLEDGE, user=outsider, channel=ch, value="1", message_ts=mention.ts
    )
    await eventually(lambda: len(w.slack.responses) > before)
    assert "addressed to you" in str(w.slack.responses[before]["text"])
    assert (await w.pages())[0].acked_at is None
