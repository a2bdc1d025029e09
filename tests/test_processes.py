"""Real processes: SIGKILL and restart on SQLite; two replicas on one PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.harness import ROOT, eventually
from tests.helpers import postgres_database
from tests.processes import BotProcess
from tests.slack_server import FakeSlack

POLICY = ROOT / "tests/policies/fast.yaml"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack.from_manifest(ROOT / "manifest.yml") as s:
        s.add_user("primary", id="U0PRIMARY")
        s.add_user("secondary", id="U0SECONDARY")
        yield s


def nags(slack: FakeSlack, channel: str) -> int:
    return sum("due a status update" in m.text for m in slack.messages(channel))


async def test_sigkill_after_declare_then_restart_the_nag_arrives_once(
    slack: FakeSlack, tmp_path: Path
) -> None:
    alice = slack.add_user("alice")
    general = slack.add_channel("general", members=[alice])
    db = f"sqlite+aiosqlite:///{tmp_path}/bot.db"
    bot = BotProcess(slack, db, POLICY, tmp_path / "bot1.log")
    try:
        await bot.ready()
        r = await bot.send.command("SEV1 Disk full", user=alice, channel=general)
        assert r.status == 200
        ch = await eventually(lambda: slack.channel_by_name("incident-" + _today() + "-disk-full"))
        await eventually(lambda: ch.pins)
    finally:
        bot.kill()
    assert nags(slack, ch.id) == 0
    await asyncio.sleep(2.5)  # the first nag falls due while the bot is dead

    bot = BotProcess(slack, db, POLICY, tmp_path / "bot2.log")
    try:
        await bot.ready()
        await eventually(lambda: nags(slack, ch.id) >= 1, within=10)
        await asyncio.sleep(0.8)  # well short of the next cadence
        assert nags(slack, ch.id) == 1
        assert sum("Escalating" in m.text for m in slack.messages(ch.id)) >= 1
    finally:
        bot.stop()


def _today() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).strftime("%Y%m%d")


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    async with postgres_database() as url:
        yield url


async def test_two_replicas_on_postgres_fire_every_nag_and_escalation_once(
    slack: FakeSlack, pg_url: str, tmp_path: Path
) -> None:
    users = [slack.add_user(f"responder{i}") for i in range(20)]
    general = slack.add_channel("general", members=users)
    bots = [BotProcess(slack, pg_url, POLICY, tmp_path / f"replica{i}.log") for i in range(2)]
    try:
        await asyncio.gather(*(b.ready(within=60) for b in bots))
        sends = [
            bots[i % 2].send.command(f"SEV1 Outage {i}", user=users[i % 20], channel=general)
            for i in range(200)
        ]
        for chunk in range(0, 200, 25):
            results = await asyncio.gather(*sends[chunk : chunk + 25])
            assert all(r.status == 200 for r in results)
        await eventually(
            lambda: (
                sum(1 for c in slack.channels.values() if c.name.startswith("incident-")) == 200
            ),
            within=120,
        )
        await asyncio.sleep(6)  # several cadences and, for most, both escalation levels
        # Resolve everything in the database, let in-flight firings finish, then stop.
        engine = create_async_engine(pg_url)
        async with engine.begin() as c:
            await c.execute(text("UPDATE incident SET resolved_at = now()"))
        await asyncio.sleep(2)
    finally:
        for b in bots:
            b.stop()
    async with engine.connect() as c:
        rows = (
            await c.execute(
                text(
                    "SELECT i.channel_id, j.kind, j.claimed_by FROM due_job j"
                    " JOIN incident i ON i.id = j.incident_id WHERE j.state = 'done'"
                )
            )
        ).all()
        claimed = (
            await c.execute(
                text(
                    "SELECT i.channel_id, j.kind FROM due_job j JOIN incident i"
                    " ON i.id = j.incident_id WHERE j.state = 'claimed'"
                )
            )
        ).all()
        timeline_nags = (
            await c.execute(text("SELECT count(*) FROM timeline_entry WHERE kind = 'nag'"))
        ).scalar()
        outbox = (
            await c.execute(text("SELECT conversation, state, payload, result FROM outbox"))
        ).all()
    await engine.dispose()
    # A graceful stop drains the pass under way; rarely a row is still claimed at exit
    # (under investigation). Such a row is not lost: the lease hands it back. It may or
    # may not have reached Slack, so it widens the bound by one, never more.
    assert len(claimed) <= 5, claimed
    done_nags = Counter(ch for ch, kind, _ in rows if kind == "nag")
    done_escalations = Counter(ch for ch, kind, _ in rows if kind == "escalate")
    channels = [c for c in slack.channels.values() if c.name.startswith("incident-")]
    assert sum(done_nags.values()) >= 200, "every incident was nagged at least once"
    assert timeline_nags == sum(done_nags.values())

    def as_dict(value: Any) -> dict[str, Any]:
        return value if isinstance(value, dict) else json.loads(value or "{}")

    def posts(channel: str, says: str) -> list[tuple[str, bool]]:
        """(state, skipped) of the outbox posts to `channel` whose text says `says`."""
        return [
            (state, bool(as_dict(result).get("skipped")))
            for conversation, state, payload, result in outbox
            if conversation == channel
            and says in str(as_dict(payload).get("message", {}).get("text"))
        ]

    for ch in channels:
        sent_nags = nags(slack, ch.id)
        sent_escalations = sum("Escalating" in m.text for m in ch.messages)
        # Each recorded step wrote its channel post once (a step still claimed at exit
        # wrote nothing: its transaction did not commit); each post went out at most
        # once: delivered, or (a reminder of an incident resolved before its turn)
        # skipped, or still waiting in the outbox for the next start (its channel's pace).
        nag_posts = posts(ch.id, "due a status update")
        assert len(nag_posts) == done_nags[ch.id], ch.name
        delivered = sum(s == "done" and not skipped for s, skipped in nag_posts)
        claimed_posts = sum(s == "claimed" for s, _ in nag_posts)
        assert delivered <= sent_nags <= delivered + claimed_posts, ch.name
        page_posts = posts(ch.id, "Escalating")
        assert len(page_posts) == done_escalations[ch.id], ch.name
        delivered = sum(s == "done" for s, _ in page_posts)
        claimed_posts = sum(s == "claimed" for s, _ in page_posts)
        assert delivered <= sent_escalations <= delivered + claimed_posts, ch.name
        assert 1 <= len(page_posts) <= 2, ch.name  # each level paged at most once
    # Both replicas did part of the work.
    assert len({claimed_by.split(":")[1] for *_, claimed_by in rows}) == 2
