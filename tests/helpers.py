"""What many tests do: the people the test policy names, a declared incident, a command's
answer, the rows the bot planned. One copy each, so a change of shape is made once."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import yaml
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import col, select

from bot.clock import VirtualClock
from bot.store.tables import DueJob
from tests.harness import ROOT, TEST_POLICY, Bot, eventually, start_bot
from tests.slack_server import FakeSlack

# The Web API methods a declaration calls (README, "Performance"): fault-injection tests
# make each of them fail or stall.
DECLARING_METHODS = (
    "conversations.create",
    "conversations.invite",
    "conversations.setTopic",
    "chat.postMessage",
    "pins.add",
    "usergroups.users.list",
)
LEAD = "U0LEAD"  # tests/policies/test.yaml's `lead` contact
ONCALL = "S0ONCALL"  # and its `oncall` user group


class DeclaredIncident(NamedTuple):
    """The `incident` fixture: a SEV2 declared in #general (`slack, bot, ch, alice = ...`)."""

    slack: FakeSlack
    bot: Bot
    channel: str  # the incident channel's id
    declarer: str  # alice, the commander


def add_test_team(slack: FakeSlack, *, oncall: list[str] | None = None) -> tuple[str, str]:
    """Who and what tests/policies/test.yaml refers to: alice, the lead, the on-call group
    (alice unless `oncall` says who), #general (alice in it) and #incidents.
    Returns (alice, #general's id)."""
    alice = slack.add_user("alice")
    slack.add_user("lead", id=LEAD)
    slack.add_usergroup("oncall", [alice] if oncall is None else oncall, id=ONCALL)
    general = slack.add_channel("general", members=[alice])
    slack.add_channel("incidents")
    return alice, general


def add_clocks_team(slack: FakeSlack) -> None:
    """Who and what tests/policies/clocks.yaml refers to: its four contacts (U0PRIMARY,
    U0SECONDARY, U0MANAGER, U0CTO), #incidents and #security-incidents."""
    for name in ("primary", "secondary", "manager", "cto"):
        slack.add_user(name, id=f"U0{name.upper()}")
    slack.add_channel("incidents")
    slack.add_channel("security-incidents")


async def declare_checkout_errors(bot: Bot, user: str, channel: str) -> str:
    """Declare the SEV2 the `incident` fixture starts with; returns its channel's id once
    the declarer has had the answer."""
    before = len(bot.slack.responses)
    await bot.send.command("SEV2 Checkout errors", user=user, channel=channel)
    ch = await eventually(lambda: bot.slack.channel_by_name("incident-20260314-checkout-errors"))
    await eventually(lambda: len(bot.slack.responses) > before)
    await bot.settled()  # the #incidents post goes through the outbox
    return str(ch.id)


async def declare_by_command(bot: Bot, text: str, user: str, channel: str) -> str:
    """`/incident <text>` in `channel`; the new incident's channel id once answered."""
    before = len(bot.slack.responses)
    r = await bot.send.command(text, user=user, channel=channel)
    assert r.status == 200
    await eventually(lambda: len(bot.slack.responses) > before)
    inc = (await bot.services.store.list_open())[0]
    assert inc.channel_id
    return inc.channel_id


async def say(bot: Bot, text: str, user: str, channel: str) -> str:
    """A command inside a channel; returns its answer, which must be ephemeral (in the ack's
    body or, after the ack, through the response_url)."""
    before = len(bot.slack.responses)
    r = await bot.send.command(text, user=user, channel=channel)
    assert r.status == 200
    if r.body:
        body = r.json()
        assert body is not None, r.body
        assert body["response_type"] == "ephemeral"
        await bot.settled()  # committed; what it posts follows from the outbox
        return str(body["text"])
    await eventually(lambda: len(bot.slack.responses) > before)
    await bot.settled()
    answer = bot.slack.responses[before]
    assert answer.get("response_type") == "ephemeral"
    return str(answer["text"])


def msg(
    channel: str, ts: str, text: str, user: str = "U0ALICE", **extra: object
) -> dict[str, object]:
    """A person's message as the Events API delivers it (`bot.send.event(msg(...))`)."""
    return {
        "type": "message",
        "channel": channel,
        "user": user,
        "text": text,
        "ts": ts,
        "event_ts": ts,
        "channel_type": "channel",
        **extra,
    }


def posts(slack: FakeSlack, channel: str) -> list[str]:
    """The texts of a conversation's messages, oldest first."""
    return [m.text for m in slack.messages(channel)]


async def pending_jobs(bot: Bot, kind: str | None = None, incident_id: int = 1) -> list[datetime]:
    """When the incident's pending reminders / escalations / set-up are due, in order."""
    q = select(DueJob).where(DueJob.incident_id == incident_id, DueJob.state == "pending")
    if kind is not None:
        q = q.where(col(DueJob.kind) == kind)
    async with bot.services.store.session() as s:
        rows = (await s.exec(q)).all()
    return sorted(r.due_at for r in rows)


def virtual_clock(bot: Bot) -> VirtualClock:
    clock = bot.services.clock
    assert isinstance(clock, VirtualClock)
    return clock


@asynccontextmanager
async def postgres_database() -> AsyncIterator[str]:
    """A fresh PostgreSQL database on TEST_POSTGRES_URL's server, dropped afterwards; the
    test is skipped without one (failed, when INCIDENT_BOT_REQUIRE_PG says it must run)."""
    server = os.environ.get("TEST_POSTGRES_URL")
    if not server:
        if os.environ.get("INCIDENT_BOT_REQUIRE_PG"):
            pytest.fail("TEST_POSTGRES_URL is not set but PostgreSQL is required here")
        pytest.skip("no PostgreSQL (set TEST_POSTGRES_URL; .ci/run starts one)")
    name = f"bot_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(server, isolation_level="AUTOCOMMIT")
    async with admin.connect() as c:
        await c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.rsplit("/", 1)[0] + "/" + name
    finally:
        async with admin.connect() as c:
            await c.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        await admin.dispose()


@asynccontextmanager
async def declared_under(
    tmp_path: Path, severity: int, **changes: object
) -> AsyncIterator[DeclaredIncident]:
    """The `incident` fixture's SEV2, under tests/policies/test.yaml with `changes` made
    to its severity number `severity` (e.g. 1, monitor_for="30m")."""
    data: dict[str, Any] = yaml.safe_load(TEST_POLICY.read_text(encoding="utf-8"))
    data["severities"][severity].update(changes)
    policy = tmp_path / "changed.yaml"
    policy.write_text(yaml.safe_dump(data), encoding="utf-8")
    slack = FakeSlack.from_manifest(ROOT / "manifest.yml")
    await slack.start()
    alice, general = add_test_team(slack)
    bot = await start_bot(
        slack,
        f"sqlite+aiosqlite:///{tmp_path}/b.db",
        clock=VirtualClock(datetime(2026, 3, 14, 9, 30, tzinfo=UTC)),
        policy=policy,
    )
    try:
        yield DeclaredIncident(
            slack, bot, await declare_checkout_errors(bot, alice, general), alice
        )
    finally:
        await bot.stop()
        await slack.stop()
