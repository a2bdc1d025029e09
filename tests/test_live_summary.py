"""The pinned announcement is the incident's live summary, and the topic follows it:
after every kind of change both show the new state (issue 13), through the outbox,
edited in place with `chat.update`, a burst of changes coalesced into one edit."""

from __future__ import annotations

from bot.deliverer import Deliverer
from bot.incidents.outbox import Op
from bot.store.outbox import OutboxStore
from tests.harness import Bot
from tests.helpers import LEAD, DeclaredIncident, say
from tests.slack_server import FakeSlack


def pinned(slack: FakeSlack, ch: str) -> str:
    [ts] = slack.channels[ch].pins
    return next(m.text for m in slack.messages(ch) if m.ts == ts)


def pinned_blocks(slack: FakeSlack, ch: str) -> list[dict[str, object]]:
    [ts] = slack.channels[ch].pins
    return next(m.blocks or [] for m in slack.messages(ch) if m.ts == ts)


def topic(slack: FakeSlack, ch: str) -> str:
    return slack.channels[ch].topic


async def edits(bot: Bot) -> int:
    rows = await OutboxStore(bot.services.store).rows(1)
    return sum(1 for r in rows if r.op == Op.EDIT)


async def test_every_kind_of_change_shows_in_the_pinned_summary_and_the_topic(
    incident: DeclaredIncident,
) -> None:
    slack, bot, ch, alice = incident
    bob = slack.add_user("bob")
    carol = slack.add_user("carol")
    assert "Investigating" in pinned(slack, ch) and "| Investigating |" in topic(slack, ch)
    updates_before = len(slack.calls_to("chat.update"))

    await say(bot, "status identified", alice, ch)
    assert "*Now:* Identified" in pinned(slack, ch)
    assert "| Identified |" in topic(slack, ch)

    await say(bot, "severity SEV1", alice, ch)
    assert "*SEV1* (Critical)" in pinned(slack, ch)
    assert "Page on-call" in pinned(slack, ch), "the new severity's immediate actions"
    assert topic(slack, ch).startswith("SEV1 ")

    await say(bot, f"role tech_lead <@{bob}>", alice, ch)
    assert f"tech_lead: <@{bob}>" in pinned(slack, ch)

    await say(bot, f"commander <@{carol}>", alice, ch)
    assert f"*Commander:* <@{carol}>" in pinned(slack, ch)
    assert topic(slack, ch).endswith(f"Commander: <@{carol}>")

    await say(bot, "update monitoring deployed the fix", carol, ch)
    assert "*Now:* Monitoring" in pinned(slack, ch)
    assert "*Last update:* 2026-03-14 09:30 UTC" in pinned(slack, ch)
    assert "| Monitoring |" in topic(slack, ch)

    await say(bot, "escalate need the lead", carol, ch)
    assert "*Paged:* Lead (2026-03-14 09:30 UTC)" in pinned(slack, ch)
    await say(bot, "ack", LEAD, ch)
    assert f"acknowledged by <@{LEAD}>" in pinned(slack, ch)

    await say(bot, "resolve rolled back", carol, ch)
    assert "*Resolved:* 2026-03-14 09:30 UTC" in pinned(slack, ch)
    assert "| Resolved |" in topic(slack, ch)
    assert not [b for b in pinned_blocks(slack, ch) if b["type"] == "actions"], "no controls"
    # Edited in place: one pinned message, never re-posted.
    assert len(slack.channels[ch].pins) == 1
    assert len(slack.calls_to("chat.update")) > updates_before


async def test_a_burst_of_changes_is_one_edit_of_the_latest_state(
    incident: DeclaredIncident,
) -> None:
    slack, bot, ch, alice = incident
    before = await edits(bot)
    updates = len(slack.calls_to("chat.update"))
    # Nothing delivers while the burst is written: the edits wait, and coalesce.
    await bot.services.deliverer.drain()
    for command in ("status identified", "status monitoring", "severity SEV1"):
        r = await bot.send.command(command, user=alice, channel=ch)
        assert r.status == 200
    rows = await OutboxStore(bot.services.store).rows(1)
    pending = [r for r in rows if r.op in (Op.EDIT, Op.TOPIC) and r.state == "pending"]
    assert len([r for r in pending if r.op == Op.EDIT]) == 1, "one edit of one message"
    assert len([r for r in pending if r.op == Op.TOPIC]) == 1
    assert await edits(bot) == before + 1
    # A worker delivers it: one chat.update, showing the last state of the burst.
    worker = Deliverer(
        OutboxStore(bot.services.store), bot.services.chat, bot.services.clock, worker="w2"
    )
    worker.renderers = bot.services.deliverer.renderers
    await worker.run_once()
    assert len(slack.calls_to("chat.update")) == updates + 1
    assert "*Now:* Monitoring · *SEV1*" in pinned(slack, ch)
    assert topic(slack, ch).startswith("SEV1 ") and "| Monitoring |" in topic(slack, ch)
