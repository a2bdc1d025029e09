"""About one message per second per channel, in order; other channels unaffected."""

from __future__ import annotations

import asyncio
import time

from bot.incidents.chat import Message
from bot.settings import Settings
from bot.slack.gateway import SlackChat, make_client
from bot.slack.pacing import Pacer
from tests.slack_server import FakeSlack


async def test_bucket_allows_a_burst_then_one_per_second() -> None:
    now = [0.0]
    slept: list[float] = []

    async def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    pacer = Pacer(per_second=1, burst=3, now=lambda: now[0], sleep=sleep)
    times = []
    for _ in range(6):
        async with pacer.slot("C1"):
            times.append(now[0])
    assert times == [0, 0, 0, 1, 2, 3]
    async with pacer.slot("C2"):  # another channel has its own bucket
        assert now[0] == 3
    now[0] += 10  # a quiet spell refills the burst, no more
    start = now[0]
    for _ in range(4):
        async with pacer.slot("C1"):
            pass
    assert now[0] - start == 1


async def test_real_posts_are_paced_and_keep_their_order(slack: FakeSlack) -> None:
    chat = SlackChat(
        make_client(Settings(slack_bot_token=slack.bot_token, slack_api_url=slack.api_url)),
        Pacer(per_second=4, burst=2),
    )
    try:
        ch = await chat.create_channel("incident-paced", private=False)
        start = time.monotonic()
        await asyncio.gather(*(chat.post(ch, Message(text=f"m{i}")) for i in range(6)))
        took = time.monotonic() - start
    finally:
        await chat.close()
    assert [m.text for m in slack.messages(ch)] == [f"m{i}" for i in range(6)]
    assert 0.9 <= took < 3, "2 at once, then 4 more at 4 a second"
