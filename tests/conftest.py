from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import VirtualClock
from tests.harness import Bot, eventually, start_bot
from tests.slack_server import FakeSlack

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "manifest.yml"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    """A fake Slack granting exactly the scopes manifest.yml asks for."""
    async with FakeSlack.from_manifest(MANIFEST) as fake:
        yield fake


@pytest.fixture
async def incident(tmp_path: Path) -> AsyncIterator[tuple[FakeSlack, Bot, str, str]]:
    """A declared SEV2 incident: (slack, bot, channel id, the declarer)."""
    slack = FakeSlack.from_manifest(MANIFEST)
    await slack.start()
    alice = slack.add_user("alice")
    slack.add_user("lead", id="U0LEAD")
    slack.add_usergroup("oncall", [alice], id="S0ONCALL")
    general = slack.add_channel("general", members=[alice])
    slack.add_channel("incidents")
    clock = VirtualClock(datetime(2026, 3, 14, 9, 30, tzinfo=UTC))
    bot = await start_bot(slack, f"sqlite+aiosqlite:///{tmp_path}/b.db", clock=clock)
    await bot.send.command("SEV2 Checkout errors", user=alice, channel=general)
    ch = await eventually(lambda: slack.channel_by_name("incident-20260314-checkout-errors"))
    await eventually(lambda: slack.responses)
    yield slack, bot, ch.id, alice
    await bot.stop()
    await slack.stop()
