from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import VirtualClock
from tests.harness import start_bot
from tests.helpers import (
    DeclaredIncident,
    add_test_team,
    declare_checkout_errors,
    postgres_database,
)
from tests.slack_server import FakeSlack

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "manifest.yml"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    """A fake Slack granting exactly the scopes manifest.yml asks for."""
    async with FakeSlack.from_manifest(MANIFEST) as fake:
        yield fake


@pytest.fixture
async def incident(tmp_path: Path) -> AsyncIterator[DeclaredIncident]:
    """A declared SEV2 incident: (slack, bot, channel id, the declarer)."""
    slack = FakeSlack.from_manifest(MANIFEST)
    await slack.start()
    alice, general = add_test_team(slack)
    clock = VirtualClock(datetime(2026, 3, 14, 9, 30, tzinfo=UTC))
    bot = await start_bot(slack, f"sqlite+aiosqlite:///{tmp_path}/b.db", clock=clock)
    ch = await declare_checkout_errors(bot, alice, general)
    yield DeclaredIncident(slack, bot, ch, alice)
    await bot.stop()
    await slack.stop()


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A fresh PostgreSQL database for one test (dropped after), from TEST_POSTGRES_URL."""
    async with postgres_database() as url:
        yield url
