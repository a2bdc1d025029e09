"""GET /metrics: Prometheus' text format, scraped after a declaration, a recorded
message and a reminder: every series the operator needs exists and moved."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.clock import VirtualClock
from bot.incidents.chat import ChatError
from tests.harness import Bot
from tests.ops_world import clocks_bot, clocks_slack, declare
from tests.slack_server import FakeSlack

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(bot: Bot) -> Samples:
    async with aiohttp.ClientSession() as s, s.get(f"{bot.url}/metrics") as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain")
        text = await r.text()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[FakeSlack, Bot, VirtualClock]]:
    async with clocks_slack() as slack, clocks_bot(slack, tmp_path) as (bot, clock):
        yield slack, bot, clock


async def test_metrics_exist_and_move(world: tuple[FakeSlack, Bot, VirtualClock]) -> None:
    slack, bot, clock = world
    before = await scrape(bot)
    alice = await declare(slack, bot)
    incident = (await bot.services.store.list_open())[0]
    assert incident.channel_id
    r = await bot.send.event(
        {
            "type": "message",
            "channel": incident.channel_id,
            "user": alice,
            "text": "on it",
            "ts": "1777888999.000100",
        }
    )
    assert r.status == 200

    after = await scrape(bot)
    assert (
        moved(before, after, "incident_bot_slack_calls_total", method="conversations.create") == 1
    )
    assert moved(before, after, "incident_bot_ack_seconds_count", kind="command") == 1
    assert moved(before, after, "incident_bot_ack_seconds_count", kind="event") == 1
    assert moved(before, after, "incident_bot_events_recorded_total", kind="posted") == 1
    assert value(after, "incident_bot_due_rows_pending") >= 1
    assert value(after, "incident_bot_due_rows_overdue") == 0
    assert ("process_cpu_seconds_total", ()) in after  # the client's own process metrics

    # The reminder fires 30 s late (a page with it); a 429 and an error, by method.
    clock.advance(timedelta(minutes=15, seconds=30))
    slack.fail("chat.postMessage", status=429, retry_after=0)
    assert await bot.services.scheduler.run_due() >= 1
    slack.fail("conversations.setTopic", error="not_in_channel")
    later = await scrape(bot)
    assert moved(after, later, "incident_bot_reminder_lateness_seconds_count") >= 1
    assert moved(after, later, "incident_bot_reminder_lateness_seconds_bucket", le="60.0") >= 1
    assert moved(after, later, "incident_bot_reminder_lateness_seconds_bucket", le="10.0") == 0
    assert moved(after, later, "incident_bot_page_lateness_seconds_count") >= 1
    assert (
        moved(after, later, "incident_bot_slack_rate_limited_total", method="chat.postMessage") == 1
    )
    with pytest.raises(ChatError):
        await bot.services.chat.set_topic(incident.channel_id, "x")
    last = await scrape(bot)
    errors = "incident_bot_slack_errors_total"
    set_topic_failed = {"method": "conversations.setTopic", "error": "not_in_channel"}
    assert moved(later, last, errors, **set_topic_failed) == 1
