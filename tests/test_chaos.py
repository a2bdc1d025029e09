"""Slack misbehaving for a whole incident: 429 storms and 5xx on every method the bot
uses. Every message still arrives, once, in order per channel."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from tests.harness import eventually
from tests.helpers import DECLARING_METHODS, DeclaredIncident, virtual_clock


async def test_a_whole_incident_through_429s_and_5xx(incident: DeclaredIncident) -> None:
    slack, bot, _, alice = incident
    general = slack.channel_by_name("general")
    assert general is not None
    for m in DECLARING_METHODS:  # the next calls of every method fail first
        slack.fail(m, status=429, retry_after=1)
        slack.fail(m, status=503)

    def answered(expected: str) -> Callable[[], bool]:
        return lambda: any(expected in str(r.get("text")) for r in slack.responses)

    await bot.send.command("SEV1 Storm", user=alice, channel=general.id)
    # The declarer's answer comes once the whole set-up is through the storm; waiting for
    # any answer instead let the next command race this one's (and its posts).
    await eventually(answered("INC-2 declared"), within=30)
    await bot.settled()  # what the set-up wrote to the outbox, through the same storm
    storm = slack.channel_by_name("incident-20260314-storm")
    assert storm is not None and storm.pins

    async def say(text: str, expected: str) -> None:
        r = await bot.send.command(text, user=alice, channel=storm.id)
        answer = r.json()  # committed, then acknowledged; its posts follow
        assert answer is not None and expected in answer["text"], r.body
        await bot.settled()

    slack.fail("chat.postMessage", status=429, retry_after=1)
    await say("update identified Found it", "Update posted")
    slack.fail("chat.postMessage", status=500)
    await say("escalate need a hand", "Escalated to")
    virtual_clock(bot).advance(timedelta(minutes=15))
    slack.fail("chat.postMessage", status=429, retry_after=1)
    await bot.services.scheduler.run_due()  # a reminder through a 429
    slack.fail("chat.postMessage", status=502)
    await say("resolve Rolled back", "INC-2 resolved")
    assert not any("failed" in str(r.get("text")) for r in slack.responses), slack.responses

    texts = [m.text for m in storm.messages]
    order = ["INC-2: Storm", "Found it", "Escalating", "due a status update", "Resolved: INC-2"]
    positions = [next(i for i, t in enumerate(texts) if key.lower() in t.lower()) for key in order]
    assert positions == sorted(positions), texts
    for key in order:
        assert sum(key.lower() in t.lower() for t in texts) == 1, (key, texts)
    assert {alice, "U0LEAD"} <= storm.members
    incidents = slack.channel_by_name("incidents")
    assert incidents is not None and len(incidents.messages) == 3  # both declares + resolved
    assert any(c.status == 429 for c in slack.calls) and any(c.status >= 500 for c in slack.calls)
