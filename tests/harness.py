"""The real bot, served over HTTP on loopback, talking to the fake Slack server."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.clock import Clock
from bot.deliverer import Pace
from bot.incidents.chat import Chat
from bot.policy.loader import LoadedPolicy, load_policy
from bot.server import start_http
from bot.services import Services, build_services
from bot.settings import Settings
from bot.slack.gateway import SlackChat, make_client
from bot.slack.pacing import Pacer
from tests.slack_requests import SlackSender
from tests.slack_server import FakeSlack

ROOT = Path(__file__).resolve().parent.parent
SIGNING_SECRET = "test-signing-secret"
TEST_POLICY = ROOT / "tests" / "policies" / "test.yaml"


@dataclass
class Bot:
    services: Services
    runner: web.AppRunner
    url: str
    send: SlackSender
    slack: FakeSlack
    gateway: SlackChat

    async def settled(self) -> None:
        """Wait until what the bot committed has gone out: a change is acknowledged
        once committed, and its posts, invites and pins follow from the outbox."""
        await listeners_done()
        await self.services.deliverer.run_once()

    async def stop(self) -> None:
        await listeners_done()
        await self.runner.cleanup()
        await self.services.close()
        # The services close the chat they were given; a wrapped one (fault injection)
        # may not pass that on, and the gateway's HTTP session must not outlive the test.
        await self.gateway.close()


async def listeners_done(within: float = 10.0) -> None:
    """Wait for the listeners still running after their ack. Bolt runs each listener as a
    task of its own, so the HTTP server's shutdown does not wait for them: stopping the
    bot under one would drop its database connection (a ResourceWarning) mid-work."""
    running = [
        t
        for t in asyncio.all_tasks()
        if t is not asyncio.current_task()
        and getattr(t.get_coro(), "__qualname__", "").endswith("run_ack_function_asynchronously")
    ]
    if running:
        await asyncio.wait(running, timeout=within)


def settings_for(slack: FakeSlack, db_url: str, policy: str | Path = TEST_POLICY) -> Settings:
    return Settings(
        slack_bot_token=slack.bot_token,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.api_url,
        database_url=db_url,
        policy_path=str(policy),
        port=0,
    )


async def start_bot(
    slack: FakeSlack,
    db_url: str,
    *,
    policy: str | Path = TEST_POLICY,
    clock: Clock | None = None,
    loaded: LoadedPolicy | None = None,
    wrap_chat: Callable[[Chat], Chat] | None = None,
    slack_timeout: int = 10,
    **more: Any,
) -> Bot:
    """`more`: other Settings fields (a paging service's base URL)."""
    settings = replace(settings_for(slack, db_url, policy), slack_timeout=slack_timeout, **more)
    # Pacing has its own tests (test_pacing.py); here it would only slow the suite.
    client = make_client(settings)  # one client for the gateway and Bolt, as in serve
    gateway = SlackChat(client, Pacer(per_second=100, burst=100))
    chat: Chat = gateway if wrap_chat is None else wrap_chat(gateway)  # fault injection
    services = await build_services(
        settings,
        chat,
        clock=clock,
        policy=loaded or load_policy(settings.policy_path),
        pace=Pace(per_second=100, burst=100),
    )
    runner = await start_http(services, client, host="127.0.0.1", port=0)
    port = runner.addresses[0][1]
    url = f"http://127.0.0.1:{port}"
    send = SlackSender(f"{url}/slack/events", SIGNING_SECRET, slack)
    return Bot(services, runner, url, send, slack, gateway)


async def eventually(
    check: Callable[[], Any] | Callable[[], Awaitable[Any]], within: float = 5.0
) -> Any:
    """Wait for work the bot does after its ack (Slack sees the ack first, by design)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {within}s: {check}")
        await asyncio.sleep(0.02)
