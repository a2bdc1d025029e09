"""Security: secrets never reach logs; private incidents stay inside."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from bot.clock import VirtualClock
from tests.harness import SIGNING_SECRET, eventually
from tests.helpers import DeclaredIncident


async def test_tokens_and_signing_secret_never_reach_the_logs(
    incident: DeclaredIncident,
    caplog: pytest.LogCaptureFixture,
) -> None:
    slack, bot, ch, alice = incident
    caplog.set_level(logging.DEBUG)  # every logger, slack_sdk's request logging included
    general = slack.channel_by_name("general")
    assert general is not None
    await bot.send.command("SEV1 Token leak drill", user=alice, channel=general.id)
    await eventually(lambda: slack.channel_by_name("incident-20260314-token-leak-drill"))
    await bot.send.command("help", user=alice, channel=general.id)
    await bot.send.event(
        {"type": "message", "channel": ch, "user": alice, "text": "hi", "ts": "1773480700.000100"},
        event_id="Es",
    )
    clock = bot.services.clock
    assert isinstance(clock, VirtualClock)
    clock.advance(timedelta(hours=3))
    await bot.services.scheduler.run_due()  # reminders and escalations, with Slack calls
    await bot.send.raw(b"x=1", {"X-Slack-Signature": "v0=00", "X-Slack-Request-Timestamp": "1"})
    text = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    # The Web API client's own request log was captured: the check below means something.
    assert any(
        r.name.startswith("slack_sdk") and "conversations" in r.getMessage() for r in caplog.records
    )
    for secret in (slack.bot_token, SIGNING_SECRET):
        assert secret not in text
    assert repr(bot.services.settings).count("set") >= 2
    assert slack.bot_token not in repr(bot.services.settings)
