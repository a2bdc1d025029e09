"""PagerDuty and Opsgenie as escalation targets, against local servers that answer like
their APIs: one trigger per incident and level, an acknowledge when the page is acked
in Slack, a resolve (close) on resolution; retried on 429 and 5xx; a refusal (a bad
key) told in the channel, the Slack page still sent, and /healthz saying so."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest

from bot.clock import VirtualClock
from tests.harness import ROOT, start_bot
from tests.helpers import say
from tests.paging_servers import LocalOpsgenie, LocalPagerDuty, started
from tests.slack_server import FakeSlack
from tests.test_oncall_paging import HANDOFF, POLICY, M, World, add_oncall_team, paged

PD_KEY = "R0UT1NGKEY0000000000000000000001"
OG_KEY = "8f0c6a1e-0000-4000-8000-000000000001"
DEDUP = "oncallco-inc-1-level-1"


class Paged(World):
    pd: LocalPagerDuty
    og: LocalOpsgenie


@pytest.fixture
async def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Paged]:
    monkeypatch.setenv("TEST_PD_KEY", PD_KEY)
    monkeypatch.setenv("TEST_OG_KEY", OG_KEY)
    pd, og = await started(PD_KEY, OG_KEY)
    slack = FakeSlack.from_manifest(ROOT / "manifest.yml")
    await slack.start()
    dora, general = add_oncall_team(slack)
    clock = VirtualClock(HANDOFF - M)
    bot = await start_bot(
        slack,
        f"sqlite+aiosqlite:///{tmp_path}/bot.db",
        policy=POLICY,
        clock=clock,
        pagerduty_api_url=pd.url,
        opsgenie_api_url=og.url,
    )
    w = Paged(slack, bot, clock, dora, general)
    w.pd, w.og = pd, og
    yield w
    await bot.stop()
    await slack.stop()
    await pd.stop()
    await og.stop()


def triggers(w: Paged) -> tuple[list[str], list[str]]:
    return (
        [str(g.body["dedup_key"]) for g in w.pd.accepted("trigger")],
        [str(g.body["alias"]) for g in w.og.accepted("/v2/alerts")],
    )


async def test_trigger_on_page_acknowledge_on_ack_resolve_on_resolve(world: Paged) -> None:
    channel = await world.declare("SEV-1 Checkout down")
    assert triggers(world) == ([DEDUP], [DEDUP])
    event = world.pd.accepted("trigger")[0].body
    assert event["routing_key"] == PD_KEY and event["payload"]["severity"] == "critical"
    assert event["payload"]["summary"] == "INC-1 (SEV-1) Checkout down: Primary On-Call"
    alert = world.og.accepted("/v2/alerts")[0].body
    assert alert["message"] == "INC-1 (SEV-1) Checkout down: Primary On-Call"
    assert alert["priority"] == "P1"
    # The Slack page went too, and names the pagers.
    assert paged(world.slack, "U0BEN")
    page = [m.text for m in world.slack.messages(channel) if "to *Primary On-Call*" in m.text]
    assert page and "PagerDuty `pager`" in page[0] and "Opsgenie `genie`" in page[0]

    # Paged again (by hand, then the next level on the clock): still one trigger there.
    await say(world.bot, "escalate need more hands", world.declarer, channel)
    await world.at(HANDOFF + 10 * M)
    assert triggers(world) == ([DEDUP], [DEDUP])

    # Acknowledged by someone the page was not addressed to: nothing, at the pagers too.
    assert "addressed to you" in await say(world.bot, "ack", world.declarer, channel)
    assert world.pd.accepted("acknowledge") == world.og.accepted("acknowledge") == []
    # By the person on call it reached: that page's alerts are acknowledged.
    await say(world.bot, "ack", "U0BEN", channel)
    assert [g.body["dedup_key"] for g in world.pd.accepted("acknowledge")] == [DEDUP]
    assert [g.path for g in world.og.accepted("acknowledge")] == [f"/v2/alerts/{DEDUP}/acknowledge"]
    assert world.pd.alerts[DEDUP].status == world.og.alerts[DEDUP].status == "acknowledged"

    await say(world.bot, "resolve Rolled back", world.declarer, channel)
    assert [g.body["dedup_key"] for g in world.pd.accepted("resolve")] == [DEDUP]
    assert [g.path for g in world.og.accepted("close")] == [f"/v2/alerts/{DEDUP}/close"]
    assert world.pd.alerts[DEDUP].status == world.og.alerts[DEDUP].status == "resolved"
    assert world.pd.alerts[DEDUP].triggers == world.og.alerts[DEDUP].triggers == 1
    # The key is never written down: not in the outbox rows.
    rows = await world.bot.services.deliverer.outbox.rows()
    assert PD_KEY not in str([r.payload for r in rows]) and OG_KEY not in str(rows)


async def test_429_and_5xx_are_tried_again_and_make_one_alert(world: Paged) -> None:
    world.pd.faults = [429, 503]
    world.og.faults = [500]
    await world.declare("SEV-1 Checkout down")
    assert triggers(world) == ([], [])
    for wait in (3, 5, 9):  # the deliverer's growing waits, on its clock
        world.clock.advance(timedelta(seconds=wait))
        await world.bot.settled()
    assert triggers(world) == ([DEDUP], [DEDUP])
    assert [g.status for g in world.pd.got] == [429, 503, 202]
    assert [g.status for g in world.og.got] == [500, 202]


async def test_a_refused_key_is_told_in_the_channel_and_on_healthz(
    world: Paged, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_PD_KEY", "not-the-key")
    channel = await world.declare("SEV-1 Checkout down")
    assert [g.status for g in world.pd.got] == [400]
    assert world.pd.got[0].body["routing_key"] == "not-the-key"
    await world.bot.settled()
    told = [m.text for m in world.slack.messages(channel) if "Paging problems" in m.text]
    assert told == [
        "Paging problems in INC-1:\n• the pager was not reached (PagerDuty `pager`); page by "
        "phone: `http_400`"
    ]
    # The Slack page still went out, and Opsgenie was reached.
    assert paged(world.slack, "U0BEN") and triggers(world)[1] == [DEDUP]
    verdict = await world.bot.services.health.run()
    assert any(
        "paging service `pager` refused the last alert (http_400)" in r for r in verdict.reasons
    )
    async with aiohttp.ClientSession() as s, s.get(f"{world.bot.url}/healthz") as r:
        assert r.status == 503
        assert "paging service `pager`" in str(await r.json())


async def test_a_missing_key_variable_is_told_too(
    world: Paged, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEST_OG_KEY")
    channel = await world.declare("SEV-1 Checkout down")
    await world.bot.settled()
    told = [m.text for m in world.slack.messages(channel) if "Paging problems" in m.text]
    assert told and "Opsgenie `genie`" in told[0] and "`missing_key`" in told[0]
    assert not world.og.got  # nothing was sent without a key
