"""The self-check, /healthz and HEARTBEAT_URL: a bot that is not doing its work says so,
and stops pinging its dead man's switch, until it works again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import update
from sqlmodel import col

from bot.clock import VirtualClock
from bot.deliverer import Deliverer
from bot.ops.health import SelfCheck
from bot.slack.probe import slack_probe
from bot.store.outbox import OutboxStore
from bot.store.tables import DueJob
from tests.harness import Bot, eventually
from tests.ops_world import POLICY, clocks_bot, clocks_slack, declare
from tests.processes import BotProcess
from tests.slack_server import FakeSlack


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with clocks_slack() as s:
        yield s


@pytest.fixture
async def bot(slack: FakeSlack, tmp_path: Path) -> AsyncIterator[tuple[Bot, VirtualClock]]:
    async with clocks_bot(slack, tmp_path) as b:
        yield b


async def test_a_fresh_bot_passes(bot: tuple[Bot, VirtualClock]) -> None:
    b, _ = bot
    assert (await b.services.health.run()).ok
    status, body = await status_of(b.url)
    assert status == 200 and body["ok"] is True


async def test_due_rows_nobody_fires_fail_the_check(
    slack: FakeSlack, bot: tuple[Bot, VirtualClock]
) -> None:
    b, clock = bot
    await declare(slack, b)  # its reminders are due rows; no scheduler runs here
    assert (await b.services.health.run()).ok
    clock.advance(timedelta(minutes=15) + timedelta(seconds=b.services.settings.overdue_after + 1))
    verdict = await b.services.health.run()
    assert any("overdue" in r for r in verdict.reasons), verdict
    status, body = await status_of(b.url)
    assert status == 503 and any("overdue" in str(r) for r in body["reasons"])  # type: ignore[attr-defined]
    await b.services.scheduler.run_due()  # a worker fires them: healthy again
    assert (await b.services.health.run()).ok
    assert (await status_of(b.url))[0] == 200


async def test_outbox_rows_nobody_delivers_fail_the_check(
    slack: FakeSlack, bot: tuple[Bot, VirtualClock]
) -> None:
    b, clock = bot
    alice = await declare(slack, b)
    await b.settled()
    # A change committed while nothing delivers (a web process, and no worker running).
    await b.services.deliverer.drain()
    ch = (await b.services.store.list_open())[0].channel_id
    assert ch is not None
    r = await b.send.command("update identified Found it", user=alice, channel=ch)
    assert r.status == 200
    assert (await b.services.health.run()).ok, "just written: not late yet"
    clock.advance(timedelta(seconds=b.services.settings.overdue_after + 1))
    verdict = await b.services.health.run()
    assert any("not sent" in r for r in verdict.reasons), verdict
    worker = Deliverer(OutboxStore(b.services.store), b.services.chat, clock, worker="w2")
    await worker.run_once()  # a worker delivers it: healthy again
    assert not any("not sent" in r for r in (await b.services.health.run()).reasons)


async def test_a_claim_past_its_lease_fails_the_check(
    slack: FakeSlack, bot: tuple[Bot, VirtualClock]
) -> None:
    b, clock = bot
    await declare(slack, b)
    async with b.services.store.session() as s:  # a process claimed one, then died
        await s.exec(
            update(DueJob)
            .where(col(DueJob.state) == "pending", col(DueJob.kind) == "nag")
            .values(state="claimed", claimed_by="dead:1", claimed_at=clock.now())
        )
        await s.commit()
    settings = b.services.settings
    clock.advance(timedelta(seconds=settings.claim_lease + 1))
    # Just past its lease: the scheduler's next recovery takes it back, nothing to say.
    verdict = await b.services.health.run()
    assert not any("lease" in r for r in verdict.reasons), verdict
    clock.advance(timedelta(seconds=settings.overdue_after))
    verdict = await b.services.health.run()
    assert any("past their lease" in r for r in verdict.reasons), verdict


@pytest.mark.parametrize("error", ["invalid_auth", "token_revoked"])
async def test_slack_refusing_the_token_fails_the_check(
    slack: FakeSlack, bot: tuple[Bot, VirtualClock], error: str
) -> None:
    b, _ = bot
    slack.fail("auth.test", error=error)
    verdict = await b.services.health.run()
    assert verdict.reasons == [f"Slack answers {error} to auth.test: check SLACK_BOT_TOKEN"]
    assert (await b.services.health.run()).ok  # Slack accepts it again


async def test_slack_unreachable_fails_the_check(bot: tuple[Bot, VirtualClock]) -> None:
    b, clock = bot
    settings = replace(b.services.settings, slack_api_url="http://127.0.0.1:9/api/")
    verdict = await SelfCheck(settings, b.services.store, clock, slack_probe(settings)).run()
    assert len(verdict.reasons) == 1 and "Slack unreachable" in verdict.reasons[0]


class Heartbeats:
    """A local monitor: counts the GETs it receives."""

    def __init__(self) -> None:
        self.count = 0
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        async def ping(_: web.Request) -> web.Response:
            self.count += 1
            return web.Response(text="OK")

        app = web.Application()
        app.router.add_get("/ping/{key}", ping)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = self.runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/ping/4f2c-secret"


async def status_of(url: str) -> tuple[int, dict[str, object]]:
    async with aiohttp.ClientSession() as s, s.get(f"{url}/healthz") as r:
        return r.status, await r.json()


@pytest.mark.parametrize("fault", ["invalid_auth", "no_answer"])
async def test_healthz_goes_503_and_the_heartbeat_stops_while_slack_fails(
    slack: FakeSlack, tmp_path: Path, fault: str
) -> None:
    monitor = Heartbeats()
    await monitor.start()
    bot = BotProcess(
        slack,
        f"sqlite+aiosqlite:///{tmp_path}/bot.db",
        POLICY,
        tmp_path / "bot.log",
        env={"INCIDENT_SELF_CHECK_EVERY": "0.3", "HEARTBEAT_URL": monitor.url},
    )
    try:
        await bot.ready()
        await eventually(lambda: monitor.count >= 2, within=10)
        if fault == "invalid_auth":
            slack.fail("auth.test", error="invalid_auth", times=6)
            reason = "Slack answers invalid_auth"
        else:  # Slack takes far longer than the check allows, then answers 504
            slack.stall("auth.test", 5, processed=False, times=4)
            reason = "Slack unreachable"

        async def failing() -> dict[str, object] | None:
            status, body = await status_of(bot.url)
            return body if status == 503 else None

        body = await eventually(failing, within=10)
        assert any(reason in str(r) for r in body["reasons"]), body
        pings = monitor.count
        while (await status_of(bot.url))[0] == 503:  # no ping while any check fails
            assert monitor.count == pings
            await asyncio.sleep(0.05)
        await eventually(lambda: monitor.count > pings, within=10)  # and back
        assert (await status_of(bot.url))[0] == 200
    finally:
        bot.stop()
        assert monitor.runner is not None
        await monitor.runner.cleanup()
    log = bot.log.read_text()
    assert "self-check failing" in log and "self-check passing again" in log
    assert "4f2c-secret" not in log
