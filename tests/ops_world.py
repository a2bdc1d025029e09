"""The world of the operations tests (health, metrics): the clocks policy's people in
a fake Slack, a bot on a virtual clock, and a declaration."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from bot.clock import VirtualClock
from tests.harness import ROOT, Bot, eventually, start_bot
from tests.slack_server import FakeSlack

POLICY = ROOT / "tests/policies/clocks.yaml"
T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)


@asynccontextmanager
async def clocks_slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack.from_manifest(ROOT / "manifest.yml") as slack:
        for name in ("primary", "secondary", "manager", "cto"):
            slack.add_user(name, id=f"U0{name.upper()}")
        slack.add_channel("incidents")
        slack.add_channel("security-incidents")
        yield slack


@asynccontextmanager
async def clocks_bot(slack: FakeSlack, tmp_path: Path) -> AsyncIterator[tuple[Bot, VirtualClock]]:
    clock = VirtualClock(T0)
    bot = await start_bot(
        slack, f"sqlite+aiosqlite:///{tmp_path}/bot.db", policy=POLICY, clock=clock
    )
    try:
        yield bot, clock
    finally:
        await bot.stop()


async def declare(slack: FakeSlack, bot: Bot) -> str:
    """Alice declares a SEV-1 from #general; its user id."""
    alice = slack.add_user("alice")
    general = slack.add_channel("general", members=[alice])
    before = len(slack.responses)
    r = await bot.send.command("SEV-1 Checkout down", user=alice, channel=general)
    assert r.status == 200
    await eventually(lambda: len(slack.responses) > before)
    return alice
