"""`serve` checks its credentials, database and policy contacts at start against the
local Slack server: each failure one line and exit 2, never a traceback or a secret."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.harness import ROOT, SIGNING_SECRET, eventually
from tests.processes import BotProcess, free_port
from tests.slack_server import FakeSlack

POLICY = ROOT / "tests/policies/test.yaml"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack.from_manifest(ROOT / "manifest.yml") as s:
        yield s


async def serve(slack: FakeSlack, tmp_path: Path, **env: str) -> tuple[int, str]:
    """Run `serve` to its exit (a check that fails stops it before it listens)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL"))}
    base.update(
        SLACK_BOT_TOKEN=slack.bot_token,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.api_url,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/bot.db",
        INCIDENT_POLICY=str(POLICY),
        PORT=str(free_port()),
    )
    base.update(env)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "serve",
        cwd=ROOT,
        env=base,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
    except TimeoutError:
        proc.kill()
        raise AssertionError("serve did not stop at a failed start-up check") from None
    return int(proc.returncode or 0), out.decode()


def one_line(output: str) -> str:
    lines = [line for line in output.strip().splitlines() if line]
    assert len(lines) == 1, output
    assert "Traceback" not in output
    return lines[0]


async def test_a_wrong_bot_token_is_one_line_and_exit_2(slack: FakeSlack, tmp_path: Path) -> None:
    code, out = await serve(slack, tmp_path, SLACK_BOT_TOKEN="xoxb-wrong-token")
    line = one_line(out)
    assert code == 2
    assert "SLACK_BOT_TOKEN" in line and "invalid_auth" in line and "api.slack.com/apps" in line
    assert "xoxb-wrong-token" not in out


async def test_with_json_logs_the_failed_check_is_a_json_line(
    slack: FakeSlack, tmp_path: Path
) -> None:
    code, out = await serve(slack, tmp_path, SLACK_BOT_TOKEN="xoxb-wrong", LOG_FORMAT="json")
    line = json.loads(one_line(out))
    assert code == 2 and line["level"] == "ERROR" and "SLACK_BOT_TOKEN" in line["message"]


async def test_a_revoked_bot_token_says_so(slack: FakeSlack, tmp_path: Path) -> None:
    slack.fail("auth.test", error="token_revoked")
    code, out = await serve(slack, tmp_path)
    assert code == 2 and "token_revoked" in one_line(out)


async def test_slack_unreachable_is_one_line(slack: FakeSlack, tmp_path: Path) -> None:
    code, out = await serve(slack, tmp_path, SLACK_API_URL="http://127.0.0.1:9/api/")
    assert code == 2 and "unreachable" in one_line(out) and "SLACK_API_URL" in out


async def test_a_bad_app_token_says_to_create_one_with_connections_write(
    slack: FakeSlack, tmp_path: Path
) -> None:
    code, out = await serve(slack, tmp_path, SLACK_APP_TOKEN="xapp-1-A0-1-revoked")
    line = one_line(out)
    assert code == 2
    assert "SLACK_APP_TOKEN" in line and "create an app-level token with connections:write" in line
    assert "xapp-1-A0-1-revoked" not in out


async def test_an_unreachable_database_never_prints_its_password(
    slack: FakeSlack, tmp_path: Path
) -> None:
    url = "postgresql+asyncpg://bot:s3cret-pw@127.0.0.1:9/incidents"
    code, out = await serve(slack, tmp_path, DATABASE_URL=url)
    line = one_line(out)
    assert code == 2 and "database" in line and "unreachable" in line
    assert "bot:***@127.0.0.1:9/incidents" in line and "s3cret-pw" not in out


async def test_every_failed_check_is_named_at_once(slack: FakeSlack, tmp_path: Path) -> None:
    code, out = await serve(
        slack,
        tmp_path,
        SLACK_BOT_TOKEN="xoxb-wrong",
        DATABASE_URL="postgresql+asyncpg://bot:pw@127.0.0.1:9/db",
    )
    lines = out.strip().splitlines()
    assert code == 2 and len(lines) == 2 and "Traceback" not in out
    assert any("SLACK_BOT_TOKEN" in x for x in lines) and any("database" in x for x in lines)


async def test_missing_contacts_are_named_and_the_start_line_says_what_runs(
    slack: FakeSlack, tmp_path: Path
) -> None:
    # tests/policies/test.yaml names U0LEAD and S0ONCALL: give it only the user.
    slack.add_user("lead", id="U0LEAD")
    bot = BotProcess(slack, f"sqlite+aiosqlite:///{tmp_path}/bot.db", POLICY, tmp_path / "bot.log")
    try:
        await bot.ready()
        log = await eventually(lambda: "serving policy" in bot.log.read_text(), within=10)
        assert log
        text = bot.log.read_text()
    finally:
        bot.stop()
    assert "no user group S0ONCALL" in text and "policy contact oncall" in text
    assert "U0LEAD" not in text  # it exists: no warning
    start = next(line for line in text.splitlines() if "serving policy" in line)
    assert str(POLICY) in start and "Testco" in start
    assert f"sqlite+aiosqlite:///{tmp_path}/bot.db" in start and "HTTP on port" in start
