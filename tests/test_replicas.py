"""Two web and two worker processes on one PostgreSQL through 200 incidents, each
declared, updated and resolved by command: every message goes out exactly once."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.crash_harness import all_messages, step_of
from tests.harness import ROOT, eventually
from tests.processes import BotProcess
from tests.slack_requests import Response
from tests.slack_server import FakeSlack

POLICY = ROOT / "tests/policies/fast.yaml"
INCIDENTS = 200
CHUNK = 25  # requests in flight at once, as a busy workspace sends them


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack.from_manifest(ROOT / "manifest.yml") as s:
        s.add_user("primary", id="U0PRIMARY")
        s.add_user("secondary", id="U0SECONDARY")
        yield s


async def in_chunks(sends: list[Awaitable[Response]]) -> list[Response]:
    out: list[Response] = []
    for start in range(0, len(sends), CHUNK):
        out += await asyncio.gather(*sends[start : start + CHUNK])
    return out


async def rows(engine: AsyncEngine, sql: str) -> list[Any]:
    async with engine.connect() as c:
        return list((await c.execute(text(sql))).all())


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else json.loads(value or "{}")


async def test_two_web_and_two_workers_send_every_message_exactly_once(
    slack: FakeSlack, pg_url: str, tmp_path: Path
) -> None:
    users = [slack.add_user(f"responder{i}") for i in range(20)]
    general = slack.add_channel("general", members=users)
    webs = [
        BotProcess(slack, pg_url, POLICY, tmp_path / f"web{i}.log", role="web") for i in range(2)
    ]
    workers = [
        BotProcess(slack, pg_url, POLICY, tmp_path / f"worker{i}.log", role="worker")
        for i in range(2)
    ]
    engine = create_async_engine(pg_url)
    try:
        await asyncio.gather(*(p.ready(within=60) for p in (*webs, *workers)))
        declared = await in_chunks(
            [
                webs[i % 2].send.command(f"SEV1 Outage {i}", user=users[i % 20], channel=general)
                for i in range(INCIDENTS)
            ]
        )
        assert all(r.status == 200 and "Declaring" in r.body for r in declared)

        async def all_pinned() -> bool:
            found = await rows(
                engine, "SELECT count(*) FROM incident WHERE announcement_ts IS NOT NULL"
            )
            return int(found[0][0]) == INCIDENTS

        await eventually(all_pinned, within=240)
        incidents = await rows(engine, "SELECT id, channel_id, commander_id FROM incident")
        # Every in-incident command through either web process, committed before its ack.
        updated = await in_chunks(
            [
                webs[n % 2].send.command(f"update Rolled back {iid}", user=who, channel=ch)
                for n, (iid, ch, who) in enumerate(incidents)
            ]
        )
        assert all("Update posted" in r.body for r in updated), [r.body for r in updated][:3]
        resolved = await in_chunks(
            [
                webs[n % 2].send.command(f"resolve Fixed {iid}", user=who, channel=ch)
                for n, (iid, ch, who) in enumerate(incidents)
            ]
        )
        assert all("resolved" in r.body for r in resolved), [r.body for r in resolved][:3]

        async def drained() -> bool:
            left = await rows(
                engine,
                "SELECT (SELECT count(*) FROM outbox WHERE state IN ('pending', 'claimed'))"
                " + (SELECT count(*) FROM due_job WHERE state IN ('pending', 'claimed'))",
            )
            return int(left[0][0]) == 0

        await eventually(drained, within=240)
        outbox = await rows(
            engine, "SELECT key, conversation, op, state, result, claimed_by FROM outbox"
        )
        unresolved = await rows(engine, "SELECT id FROM incident WHERE resolved_at IS NULL")
        done_nags = await rows(
            engine, "SELECT count(*) FROM due_job WHERE kind = 'nag' AND state = 'done'"
        )
        timeline = await rows(engine, "SELECT kind, count(*) FROM timeline_entry GROUP BY kind")
    finally:
        for p in (*webs, *workers):
            p.stop()
        await engine.dispose()

    assert unresolved == []
    assert Counter(r[3] for r in outbox) == {"done": len(outbox)}
    sent = all_messages(slack)
    steps = Counter(step_of(m) for _, m in sent if m.bot_id)
    # Every bot message went through the outbox (it carries its row's key) and once.
    assert steps[None] == 0, [m.text[:60] for _, m in sent if m.bot_id and step_of(m) is None][:5]
    doubled = {step: n for step, n in steps.items() if n > 1}
    assert not doubled, doubled
    # Every post row delivered is in Slack once, where it was meant to go; a skipped one
    # (a reminder whose incident was resolved before its turn) is not.
    where_sent = {step_of(m): where for where, m in sent if m.bot_id}
    for key, conversation, op, _, result, _ in outbox:
        if op != "post":
            continue
        res = as_dict(result)
        if res.get("skipped"):
            assert key not in where_sent, key
        else:
            assert where_sent.get(key) == conversation, (key, conversation, res)
    delivered = [r for r in outbox if r[2] == "post" and not as_dict(r[4]).get("skipped")]
    assert len(delivered) == len(steps)

    kinds = dict(timeline)
    assert kinds["declared"] == kinds["update"] == kinds["resolve"] == INCIDENTS
    assert kinds["nag"] == done_nags[0][0]
    for iid, channel, _ in incidents:
        said = [m.text for m in slack.channels[channel].messages if m.bot_id]
        assert sum(f"Rolled back {iid}" in t for t in said) == 1, said
        assert sum(f"Fixed {iid}" in t for t in said) == 1, said
        assert len(slack.channels[channel].pins) == 1
    # The workers delivered everything, both of them; the web processes sent nothing.
    worker_pids = {str(p.proc.pid) for p in workers}
    claimants = Counter(str(claimed_by).split(":")[1] for *_, claimed_by in outbox)
    assert set(claimants) == worker_pids, claimants
