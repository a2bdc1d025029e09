"""Action items filed in the policy's tracker (GitHub issues, Jira Cloud, a webhook),
against local servers that answer like those APIs (tests/tracker_server.py): one create
per item, retried from the outbox on a 429 or a 5xx, refusals kept on the item and told
in the channel, and never a second issue after a crash, a SIGKILL included."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.clock import VirtualClock
from bot.incidents.action_items import FILE_ISSUE
from bot.store.follow_tables import ActionItem
from bot.store.tables import OutboxRow
from tests.harness import ROOT, Bot, eventually, start_bot
from tests.helpers import add_test_team, declare_checkout_errors, posts, say, virtual_clock
from tests.processes import BotProcess
from tests.slack_server import FakeSlack
from tests.tracker_server import (
    GITHUB_TOKEN,
    JIRA_EMAIL,
    JIRA_TOKEN,
    PROJECT,
    REPO,
    TrackerServer,
)

T0 = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
FOLLOW = (ROOT / "tests/policies/follow.yaml").read_text()
TRACKERS = {
    "github": f"""
  tracker:
    kind: github
    repo: {REPO}
    token_env: GITHUB_TOKEN
    labels: [incident-followup]
""",
    "jira": f"""
  tracker:
    kind: jira
    project: {PROJECT}
    issue_type: Task
    token_env: JIRA_TOKEN
    email_env: JIRA_EMAIL
""",
    "webhook": """
  tracker:
    kind: webhook
    url: {url}/hooks/followups
    token_env: HOOK_TOKEN
""",
}


def policy_with(tmp_path: Path, kind: str, server: TrackerServer) -> Path:
    path = tmp_path / f"{kind}.yaml"
    path.write_text(FOLLOW + TRACKERS[kind].replace("{url}", server.url))
    return path


@pytest.fixture
async def server(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[TrackerServer]:
    monkeypatch.setenv("GITHUB_TOKEN", GITHUB_TOKEN)
    monkeypatch.setenv("JIRA_TOKEN", JIRA_TOKEN)
    monkeypatch.setenv("JIRA_EMAIL", JIRA_EMAIL)
    monkeypatch.setenv("HOOK_TOKEN", "hook-secret")
    s = TrackerServer()
    await s.start()
    yield s
    await s.stop()


class Tracked:
    def __init__(self, slack: FakeSlack, bot: Bot, channel: str, alice: str) -> None:
        self.slack, self.bot, self.channel, self.alice = slack, bot, channel, alice

    async def add(self, words: str) -> str:
        return await say(self.bot, f"action {words}", self.alice, self.channel)

    async def items(self) -> list[ActionItem]:
        incident = await self.bot.services.store.get(1)
        assert incident is not None
        return await self.bot.services.action_items.items(incident)

    async def later(self, seconds: float) -> None:
        """Let the outbox's retries come due, and deliver them."""
        virtual_clock(self.bot).advance(timedelta(seconds=seconds))
        await self.bot.services.deliverer.run_once()


async def tracked(tmp_path: Path, server: TrackerServer, kind: str) -> AsyncIterator[Tracked]:
    async with FakeSlack.from_manifest(ROOT / "manifest.yml") as slack:
        alice, general = add_test_team(slack)
        slack.add_user("bob", id="U0BOB")
        bot = await start_bot(
            slack,
            f"sqlite+aiosqlite:///{tmp_path}/t.db",
            policy=policy_with(tmp_path, kind, server),
            clock=VirtualClock(T0),
            github_api_url=server.url,
            jira_url=server.url,
        )
        try:
            ch = await declare_checkout_errors(bot, alice, general)
            yield Tracked(slack, bot, ch, alice)
        finally:
            await bot.stop()


@pytest.fixture
async def github(tmp_path: Path, server: TrackerServer) -> AsyncIterator[Tracked]:
    async for t in tracked(tmp_path, server, "github"):
        yield t


@pytest.fixture
async def jira(tmp_path: Path, server: TrackerServer) -> AsyncIterator[Tracked]:
    async for t in tracked(tmp_path, server, "jira"):
        yield t


@pytest.fixture
async def webhook(tmp_path: Path, server: TrackerServer) -> AsyncIterator[Tracked]:
    async for t in tracked(tmp_path, server, "webhook"):
        yield t


# --- GitHub -------------------------------------------------------------------------------


async def test_github_gets_one_issue_per_action_item_and_its_link_goes_on_the_item(
    github: Tracked, server: TrackerServer
) -> None:
    await github.add("Add a canary stage <@U0BOB|bob> due 2026-03-20")
    await github.add("Alert on the error budget")
    await github.bot.settled()
    assert server.creates == ["github", "github"]
    first, second = server.github
    assert first["title"] == "Add a canary stage"
    assert "INC-1" in first["body"] and "Due 2026-03-20" in first["body"]
    assert [label["name"] for label in first["labels"]] == ["incident-followup"]
    items = await github.items()
    assert [(i.tracker_state, i.tracker_url) for i in items] == [
        ("filed", first["html_url"]),
        ("filed", second["html_url"]),
    ]
    listed = await say(github.bot, "actions", github.alice, github.channel)
    assert f"github: {first['html_url']}" in listed


async def test_github_rate_limits_and_5xx_are_retried_from_the_outbox_and_file_once(
    github: Tracked, server: TrackerServer
) -> None:
    server.answer_next("github", 429, 403, 503)  # the 403 is GitHub's rate limit
    await github.add("Add a canary stage")
    await github.bot.settled()
    assert server.creates == []
    [item] = await github.items()
    assert item.tracker_state == "filing"
    assert "github: being filed" in await say(github.bot, "actions", github.alice, github.channel)
    await github.later(3)  # the first retry waits 2 s; it meets the rate-limit 403
    await github.later(5)  # then 4 s: the 503
    assert server.creates == []
    [item] = await github.items()
    assert item.tracker_state == "filing"
    await github.later(9)  # then 8 s
    assert server.creates == ["github"]
    [item] = await github.items()
    assert (item.tracker_state, item.tracker_url) == ("filed", server.github[0]["html_url"])
    await github.later(600)
    assert server.creates == ["github"]


async def test_a_tracker_that_refuses_keeps_the_item_and_says_why_in_the_channel(
    github: Tracked, server: TrackerServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "not-the-token")
    await github.add("Add a canary stage")
    await github.bot.settled()
    await github.bot.settled()  # the report of the failure goes through the outbox too
    assert server.creates == []
    [item] = await github.items()
    assert item.tracker_state == "failed" and item.tracker_error == "401: Bad credentials"
    assert any(
        "could not file AI-1 in github" in t and "401: Bad credentials" in t
        for t in posts(github.slack, github.channel)
    )
    listed = await say(github.bot, "actions", github.alice, github.channel)
    assert "AI-1" in listed and "not filed (401: Bad credentials)" in listed
    monkeypatch.delenv("GITHUB_TOKEN")
    await github.add("Another one")
    await github.bot.settled()
    assert "missing_token: set GITHUB_TOKEN" in str((await github.items())[1].tracker_error)


async def test_a_crash_after_github_answered_files_no_second_issue(
    github: Tracked, server: TrackerServer
) -> None:
    """The process dies after GitHub created the issue, before the row was marked done:
    the row is tried again, finds its marker in the issue, and takes that issue."""
    deliverer = github.bot.services.deliverer
    real = deliverer.senders[FILE_ISSUE]

    async def dies_after_the_answer(row: OutboxRow) -> dict[str, Any]:
        await real(row)
        deliverer.senders[FILE_ISSUE] = real
        raise RuntimeError("killed before the row was marked done")

    deliverer.senders[FILE_ISSUE] = dies_after_the_answer
    await github.add("Add a canary stage")
    await github.bot.settled()
    assert server.creates == ["github"]
    await github.later(3)
    assert server.creates == ["github"]
    [item] = await github.items()
    assert (item.tracker_state, item.tracker_url) == ("filed", server.github[0]["html_url"])


# --- Jira Cloud ---------------------------------------------------------------------------


async def test_jira_gets_one_issue_in_the_documented_shape(
    jira: Tracked, server: TrackerServer
) -> None:
    server.answer_next("jira", 429)
    await jira.add("Add a canary stage <@U0BOB|bob> due 2026-03-20")
    await jira.bot.settled()
    assert server.creates == []
    await jira.later(3)
    assert server.creates == ["jira"]
    [issue] = server.jira
    fields = issue["fields"]
    assert fields["project"] == {"key": PROJECT} and fields["issuetype"] == {"name": "Task"}
    assert fields["summary"] == "Add a canary stage" and fields["duedate"] == "2026-03-20"
    assert fields["description"]["type"] == "doc"
    [item] = await jira.items()
    assert item.tracker_url == f"{server.url}/browse/{PROJECT}-1"
    await jira.later(600)
    assert server.creates == ["jira"]


# --- a webhook ----------------------------------------------------------------------------


async def test_a_webhook_gets_the_item_once_with_its_idempotency_key(
    webhook: Tracked, server: TrackerServer
) -> None:
    server.answer_next("webhook", 500)
    await webhook.add("Add a canary stage")
    await webhook.bot.settled()
    await webhook.later(3)
    assert server.creates == ["webhook"]
    [delivery] = server.hooks.values()
    assert delivery["authorization"] == "Bearer hook-secret"
    assert delivery["body"]["action_item"]["title"] == "Add a canary stage"
    [item] = await webhook.items()
    assert item.tracker_url == f"{server.url}/tickets/T-1"


# --- SIGKILL ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["github", "jira"])
async def test_sigkill_after_the_tracker_created_the_issue_files_no_second_one(
    tmp_path: Path, server: TrackerServer, kind: str
) -> None:
    """The bot process is killed (SIGKILL) while the tracker answers its create; the next
    process takes the row back after the lease and finds the issue instead of filing
    another."""
    db = f"sqlite+aiosqlite:///{tmp_path}/k.db"
    policy = policy_with(tmp_path, kind, server)
    env = {
        "GITHUB_API_URL": server.url,
        "JIRA_URL": server.url,
        "INCIDENT_CLAIM_LEASE": "1",
    }
    async with FakeSlack.from_manifest(ROOT / "manifest.yml") as slack:
        alice, general = add_test_team(slack)
        first = BotProcess(slack, db, policy, tmp_path / "first.log", env=env)
        server.on_create = lambda _: first.kill()
        try:
            await first.ready()
            await first.send.command("SEV2 Checkout errors", user=alice, channel=general)
            found = await eventually(
                lambda: next(
                    (c for c in slack.channels.values() if c.name.endswith("checkout-errors")),
                    None,
                ),
                within=15,
            )
            await eventually(lambda: found.pins, within=15)  # its set-up is done
            # Committed before its ack; the kill may come before the ack is read.
            with contextlib.suppress(aiohttp.ClientError):
                await first.send.command("action Add a canary stage", user=alice, channel=found.id)
            await eventually(lambda: first.proc.poll() is not None, within=15)
        finally:
            if first.proc.poll() is None:
                first.kill()
        server.on_create = None
        assert server.creates == [kind]
        second = BotProcess(slack, db, policy, tmp_path / "second.log", env=env)
        try:
            await second.ready()
            url = await eventually(lambda: _tracker_url(db), within=20)
            await asyncio.sleep(1.5)  # past another lease: nothing more is filed
        finally:
            second.stop()
    assert server.creates == [kind]
    assert url in (
        server.github[0]["html_url"] if kind == "github" else f"{server.url}/browse/{PROJECT}-1",
    )


async def _tracker_url(db: str) -> str | None:
    engine = create_async_engine(db)
    try:
        async with engine.connect() as c:
            row = (await c.execute(text("SELECT tracker_url FROM action_item"))).first()
            return row[0] if row else None
    finally:
        await engine.dispose()
