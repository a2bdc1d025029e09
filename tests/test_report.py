"""`python -m bot report`: figures across incidents (median and p90 against targets,
updates on time, pages), as Markdown, JSON and a PNG a phone can show; drills left out;
an empty store says so. Incidents played by the real bot on a virtual clock, the report
run as the operator runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from bot.incidents.insights import insights
from tests.harness import ROOT, eventually, start_bot
from tests.helpers import ClocksBot, say, start_clocks_bot

M = timedelta(minutes=1)
H = timedelta(hours=1)
D = timedelta(days=1)
# A few days ago: the report's default period runs back from the real now.
T0 = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - 4 * D


def report(db: str, policy: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": db, "INCIDENT_POLICY": str(policy)}
    return subprocess.run(
        [sys.executable, "-m", "bot", "report", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


class World(ClocksBot):
    async def declare(self, at: timedelta, text: str) -> str:
        self.clock.set(T0 + at)
        before = len(self.slack.responses)
        await self.bot.send.command(text, user=self.alice, channel=self.general)
        await eventually(lambda: len(self.slack.responses) > before)
        [incident] = await self.bot.services.store.list_open()
        assert incident.channel_id
        await self.bot.services.scheduler.run_due()  # its page at declaration
        await self.bot.settled()
        return incident.channel_id

    async def say(self, at: timedelta, text: str, channel: str, user: str = "") -> None:
        self.clock.set(T0 + at)
        await say(self.bot, text, user or self.alice, channel)
        await self.bot.settled()


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    targets = "    update_every: 15m\n    response_time: 5m\n    resolve_within: 4h\n"
    w = await start_clocks_bot(World, tmp_path, T0, change=("    update_every: 15m\n", targets))
    yield w
    await w.bot.stop()
    await w.slack.stop()


async def play(w: World) -> None:
    """Two SEV-1s (one acked and resolved within target, one not), a SEV-2, and a drill."""
    one = await w.declare(0 * M, "SEV-1 Checkout down")
    await w.say(3 * M, "ack", one, user="U0PRIMARY")
    await w.say(10 * M, "update investigating Looking at the database", one)
    await w.say(H, "resolve Failed over", one)
    two = await w.declare(D, "SEV-1 Login down")
    await w.say(D + 8 * M, "ack", two, user="U0PRIMARY")
    await w.say(D + 20 * M, "update identified A bad deploy", two)
    await w.say(D + 5 * H, "resolve Rolled back", two)
    three = await w.declare(2 * D, "SEV-2 Search slow")
    await w.say(2 * D + 40 * M, "update identified The index", three)
    await w.say(2 * D + H, "resolve Reindexed", three)
    drill = await w.declare(2 * D + 2 * H, "drill SEV-1 Practice outage")
    await w.say(2 * D + 2 * H + 2 * M, "update investigating Practising", drill)
    await w.say(2 * D + 3 * H, "resolve Practised", drill)


async def test_report_gives_medians_p90s_and_targets_and_leaves_drills_out(world: World) -> None:
    await play(world)
    s = world.bot.services
    found = await insights(s.store, s.policy, s.reports, since=T0 - D, until=T0 + 3 * D)
    assert found.total == 3 and found.drills_left_out == 1
    sev1, sev2 = found.severities[0], found.severities[1]
    assert (sev1.severity, sev1.incidents, sev2.severity, sev2.incidents) == (
        "SEV-1",
        2,
        "SEV-2",
        1,
    )
    ack = sev1.to_acknowledge
    assert (ack.count, ack.median, ack.p90, ack.target, ack.within) == (
        2,
        timedelta(minutes=5, seconds=30),
        8 * M,
        5 * M,
        1,
    )
    resolve = sev1.to_resolve
    assert (resolve.median, resolve.p90, resolve.target, resolve.within) == (3 * H, 5 * H, 4 * H, 1)
    assert (sev1.to_first_update.median, sev1.to_first_update.within) == (15 * M, 1)
    # SEV-1: 10m on time, then 50m, 20m, 4h40m late; SEV-2: 40m late, then 20m on time.
    assert (sev1.updates_due, sev1.updates_on_time) == (4, 1)
    assert (sev2.updates_due, sev2.updates_on_time) == (2, 1)
    assert (sev1.pages, sev1.pages_acknowledged, sev2.pages, sev2.pages_acknowledged) == (
        2,
        2,
        1,
        0,
    )
    assert sum(sum(week.values()) for week in found.per_week.values()) == 3
    await world.bot.stop()

    md = report(world.db, world.policy)
    assert md.returncode == 0, md.stderr
    assert "3 incident(s). Left out: 1 drill(s)." in md.stdout
    assert "| SEV-1 | 2 | 5m30s / 8m (target 5m: 1/2 within) |" in md.stdout
    assert "Practice" not in md.stdout
    js = report(world.db, world.policy, "--format", "json", "--since", "30d")
    assert js.returncode == 0, js.stderr
    data = json.loads(js.stdout)
    assert (data["incidents"], data["drills_left_out"]) == (3, 1)
    assert data["severities"][0]["to_acknowledge"]["p90_s"] == 480
    png = world.policy.parent / "report.png"
    out = report(world.db, world.policy, "--format", "png", "--output", str(png))
    assert out.returncode == 0, out.stderr
    with Image.open(png) as image:
        assert image.format == "PNG"
        width, height = image.size
    assert width == 1080  # a phone's width at its own resolution: no shrinking to read it
    assert height > width  # one column of panels, scrolled down
    # Restart the bot for the fixture's teardown.
    world.bot = await start_bot(world.slack, world.db, policy=world.policy, clock=world.clock)


async def test_report_over_an_empty_store_says_so(tmp_path: Path) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path}/empty.db"
    policy = ROOT / "tests/policies/clocks.yaml"
    md = report(db, policy)
    assert md.returncode == 0, md.stderr
    assert "No incidents in this period" in md.stdout
    js = report(db, policy, "--format", "json")
    assert json.loads(js.stdout)["message"] == "no incidents in this period"
    png = tmp_path / "empty.png"
    out = report(db, policy, "--format", "png", "-o", str(png))
    assert out.returncode == 0, out.stderr
    with Image.open(png) as image:
        assert image.size[0] == 1080


def test_report_refuses_an_unreadable_period(tmp_path: Path) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path}/x.db"
    bad = report(db, ROOT / "tests/policies/clocks.yaml", "--since", "three months")
    assert bad.returncode == 2
    assert "90d" in bad.stderr
    png = report(db, ROOT / "tests/policies/clocks.yaml", "--format", "png")
    assert png.returncode == 2 and "--output" in png.stderr
