from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.slack_server import FakeSlack

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    """A fake Slack granting exactly the scopes manifest.yml asks for."""
    async with FakeSlack.from_manifest(ROOT / "manifest.yml") as fake:
        yield fake
