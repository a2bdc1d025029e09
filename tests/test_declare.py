"""Declaring an incident, end to end: signed requests in, the fake Slack server out."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import VirtualClock
from bot.slack.ids import Action
from tests.harness import Bot, eventually, start_bot
from tests.helpers import say
from tests.slack_server import FakeSlack

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
World = tuple[FakeSlack, Bot, dict[str, str]]  # slack, bot, people and channels by name


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    slack = FakeSlack.from_manifest(ROOT / "manifest.yml")
    await slack.start()
    people = {
        "alice": slack.add_user("alice"),
        "bob": slack.add_user("bob"),
        "lead": slack.add_user("lead", id="U0LEAD"),
        "outsider": slack.add_user("outsider"),
    }
    slack.add_usergroup("oncall", [people["bob"]], id="S0ONCALL")
    people["general"] = slack.add_channel("general", members=[people["alice"], people["bob"]])
    people["incidents"] = slack.add_channel("incidents")
    bot = await start_bot(slack, f"sqlite+aiosqlite:///{tmp_path}/bot.db", clock=VirtualClock(T0))
    yield slack, bot, people
    await bot.stop()
    await slack.stop()


async def declare(bot: Bot, text: str, user: str, channel: str) -> str:
    """Send the command, check the immediate ack, wait for the follow-up reply."""
    before = len(bot.slack.responses)
    r = await bot.send.command(text, user=user, channel=channel)
    assert r.status == 200
    assert "Declaring" in r.body
    await eventually(lambda: len(bot.slack.responses) > before)
    await bot.settled()  # the #incidents post goes through the outbox
    return str(bot.slack.responses[before].get("text", ""))


async def test_declare_creates_one_channel_with_everything(world: World) -> None:
    slack, bot, p = world
    reply = await declare(bot, "SEV1 Payment processing down", p["alice"], p["general"])
    assert "INC-1" in reply and "problems" not in reply.lower()

    created = slack.calls_to("conversations.create")
    assert len(created) == 1
    ch = slack.channel_by_name("incident-20260314-payment-processing-down")
    assert ch is not None and not ch.is_private
    assert {p["alice"], p["bob"], "U0LEAD", slack.bot_user_id} <= ch.members
    assert p["outsider"] not in ch.members
    assert "SEV1" in ch.topic and "Payment processing down" in ch.topic

    announcement = ch.messages[0]
    assert ch.pins == [announcement.ts]
    actions = [
        el["action_id"]
        for b in announcement.blocks or []
        if b["type"] == "actions"
        for el in b["elements"]
    ]
    assert actions == [Action.POST_UPDATE, Action.CHANGE_SEVERITY, Action.ESCALATE, Action.RESOLVE]
    assert "Complete outage" in str(announcement.blocks)
    assert any("Page on-call" in m.text or "Page on-call" in str(m.blocks) for m in ch.messages)

    posts = slack.messages(p["incidents"])
    assert len(posts) == 1 and "INC-1" in posts[0].text and ch.id in posts[0].text

    incident = await bot.services.store.find("INC-1")
    assert incident is not None and incident.channel_id == ch.id
    assert incident.commander_id == p["alice"] and incident.status == "investigating"


async def test_aliases_and_case_pick_the_same_severity(world: World) -> None:
    _slack, bot, p = world
    await declare(bot, "declare p1 Checkout slow", p["alice"], p["general"])
    inc = await bot.services.store.find("INC-1")
    assert inc is not None and inc.severity == "SEV1"


async def test_taken_and_archived_names_get_a_suffix(world: World) -> None:
    slack, bot, p = world
    slack.add_channel("incident-20260314-db-down", archived=True)
    await declare(bot, "SEV2 DB down", p["alice"], p["general"])
    await declare(bot, "SEV2 DB down", p["alice"], p["general"])
    assert slack.channel_by_name("incident-20260314-db-down-2") is not None
    assert slack.channel_by_name("incident-20260314-db-down-3") is not None


async def test_same_title_at_the_same_moment_gives_two_channels(world: World) -> None:
    slack, bot, p = world
    await asyncio.gather(
        declare(bot, "SEV2 Search broken", p["alice"], p["general"]),
        declare(bot, "SEV2 Search broken", p["bob"], p["general"]),
    )
    # Both replies, not just the first one either call saw.
    await eventually(lambda: len(slack.responses) == 2)
    await bot.settled()
    names = {c.name for c in slack.channels.values() if c.name.startswith("incident-")}
    assert names == {"incident-20260314-search-broken", "incident-20260314-search-broken-2"}
    assert len(slack.messages(p["incidents"])) == 2


async def test_private_severity_is_private_and_never_announced(world: World) -> None:
    slack, bot, p = world
    await declare(bot, "security Leaked credentials", p["alice"], p["general"])
    ch = slack.channel_by_name("incident-20260314-leaked-credentials")
    assert ch is not None and ch.is_private
    assert slack.messages(p["incidents"]) == []
    # Nor does `list` show it to someone outside it.
    r = await bot.send.command("list", user=p["outsider"], channel=p["general"])
    assert "Leaked" not in r.body
    r = await bot.send.command("list", user=p["alice"], channel=p["general"])
    assert "Leaked" in r.body


async def test_a_failing_invite_does_not_stop_the_rest(world: World) -> None:
    slack, bot, p = world
    slack.fail("conversations.invite", error="user_is_restricted")
    reply = await declare(bot, "SEV1 API down", p["alice"], p["general"])
    # The reply comes once the channel exists; the invitation's refusal is known when
    # the outbox has sent it, and said in the channel (the declarer is in it).
    assert "INC-1 declared" in reply
    ch = slack.channel_by_name("incident-20260314-api-down")
    assert ch is not None and ch.pins, "announcement still posted and pinned"
    assert len(slack.messages(p["incidents"])) == 1
    assert any("user_is_restricted" in m.text for m in ch.messages), "failure said in the channel"


async def test_slack_429_and_500_are_retried(world: World) -> None:
    slack, bot, p = world
    slack.fail("conversations.create", status=500)
    slack.fail("chat.postMessage", status=429, retry_after=1)
    reply = await declare(bot, "SEV2 Queue backlog", p["alice"], p["general"])
    assert "problems" not in reply.lower() and "failed" not in reply.lower()
    ch = slack.channel_by_name("incident-20260314-queue-backlog")
    assert ch is not None and ch.pins


async def test_channel_date_uses_the_policy_time_zone(tmp_path: Path) -> None:
    policy = tmp_path / "tz.yaml"
    text = (
        (ROOT / "tests/policies/test.yaml")
        .read_text()
        .replace("timezone: UTC", "timezone: Asia/Tokyo")
    )
    policy.write_text(text)
    async with FakeSlack.from_manifest(ROOT / "manifest.yml") as slack:
        alice = slack.add_user("alice")
        slack.add_user("lead", id="U0LEAD")
        slack.add_usergroup("oncall", [alice], id="S0ONCALL")
        general = slack.add_channel("general", members=[alice])
        slack.add_channel("incidents")
        late = datetime(2026, 3, 14, 20, 0, tzinfo=UTC)  # already the 15th in Tokyo
        bot = await start_bot(
            slack, f"sqlite+aiosqlite:///{tmp_path}/b.db", policy=policy, clock=VirtualClock(late)
        )
        try:
            await declare(bot, "SEV2 Late night", alice, general)
            assert slack.channel_by_name("incident-20260315-late-night") is not None
        finally:
            await bot.stop()


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("SEV9 Something", "Unknown severity"),
        ("SEV1", "title"),
        ("declare", "severity"),
        ("resolve all good", "incident channel"),
        ("update investigating still looking", "incident channel"),
        ("frobnicate the db", "frobnicate"),
        # Bolt reads a form body holding the word "payload" as empty (server._reparse_form).
        ("payload service down", "payload"),
        ("ack now", "ack"),
    ],
)
async def test_mistakes_get_an_ephemeral_answer_and_change_nothing(
    world: World, text: str, expect: str
) -> None:
    slack, bot, p = world
    r = await bot.send.command(text, user=p["alice"], channel=p["general"])
    assert r.status == 200
    body = r.json()
    assert body is not None, r.body
    assert body["response_type"] == "ephemeral"
    assert expect.lower() in body["text"].lower()
    await asyncio.sleep(0.1)
    assert slack.calls_to("conversations.create") == []
    assert await bot.services.store.list_open() == []


async def test_bad_signature_and_stale_timestamp_get_401(world: World) -> None:
    slack, bot, _p = world
    body = b"command=%2Fincident&text=SEV1+x&user_id=U1&channel_id=C1"
    r = await bot.send.raw(
        body,
        {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": str(int(T0.timestamp())),
            "X-Slack-Signature": "v0=deadbeef",
        },
    )
    assert r.status == 401
    import time

    from tests.harness import SIGNING_SECRET
    from tests.slack_requests import sign

    old = int(time.time()) - 6 * 60
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        **sign(body, SIGNING_SECRET, old),
    }
    r = await bot.send.raw(body, headers)
    assert r.status == 401
    assert slack.calls_to("conversations.create") == []


async def test_modal_declare(world: World) -> None:
    slack, bot, p = world
    r = await bot.send.command("", user=p["alice"], channel=p["general"])
    assert r.status == 200
    await eventually(lambda: slack.views)
    view = slack.views[0].view
    assert view["callback_id"] == "declare_incident"
    options = view["blocks"][0]["element"]["options"]
    assert [o["value"] for o in options] == ["SEV1", "SEV2", "SEC"]

    r = await bot.send.view_submission(
        "declare_incident",
        {
            "severity": {
                "severity": {"type": "static_select", "selected_option": {"value": "SEV2"}}
            },
            "title": {"title": {"type": "plain_text_input", "value": "Login errors"}},
        },
        user=p["alice"],
    )
    assert r.status == 200
    ch = await eventually(lambda: slack.channel_by_name("incident-20260314-login-errors"))
    await eventually(lambda: slack.dms.get(p["alice"]))
    await bot.settled()
    assert "INC-1" in slack.dms[p["alice"]][0].text
    assert p["alice"] in ch.members


async def test_modal_with_bad_input_shows_field_errors(world: World) -> None:
    slack, bot, p = world
    r = await bot.send.view_submission(
        "declare_incident",
        {
            "severity": {"severity": {"type": "static_select", "selected_option": None}},
            "title": {"title": {"type": "plain_text_input", "value": "!!!"}},
        },
        user=p["alice"],
    )
    body = r.json()
    assert body is not None, r.body
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {"severity", "title"}
    assert slack.calls_to("conversations.create") == []


async def test_expired_trigger_tells_the_user(world: World) -> None:
    slack, bot, p = world
    slack.fail("views.open", error="expired_trigger_id")
    r = await bot.send.command("", user=p["alice"], channel=p["general"])
    assert r.status == 200
    await eventually(lambda: slack.responses)
    assert "/incident" in slack.responses[0]["text"]


async def test_list_newest_first_and_help(world: World) -> None:
    _slack, bot, p = world
    clock = bot.services.clock
    assert isinstance(clock, VirtualClock)
    await declare(bot, "SEV2 First", p["alice"], p["general"])
    from datetime import timedelta

    clock.advance(timedelta(minutes=5))
    await declare(bot, "SEV1 Second", p["alice"], p["general"])
    text = await say(bot, "list", p["bob"], p["general"])
    assert text.index("INC-2") < text.index("INC-1")
    text = await say(bot, "help", p["bob"], p["general"])
    assert "/incident" in text and "SEV1" in text


async def test_healthz(world: World) -> None:
    import aiohttp

    _slack, bot, _p = world
    async with aiohttp.ClientSession() as s, s.get(f"{bot.url}/healthz") as r:
        assert r.status == 200
        assert (await r.json())["ok"] is True


@pytest.mark.parametrize("how", ["command", "modal"])
async def test_declaration_is_stored_before_it_is_acknowledged(
    world: World, tmp_path: Path, how: str
) -> None:
    """The ack promises the incident: a crash right after it must not lose the declaration.
    While another connection holds SQLite's write lock the bot cannot commit, so it must
    not answer either; once the lock goes, the answer comes with the incident stored."""
    slack, bot, p = world
    blocker = sqlite3.connect(tmp_path / "bot.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    if how == "command":
        send = bot.send.command("SEV1 Checkout down", user=p["alice"], channel=p["general"])
    else:
        values = {
            "severity": {
                "severity": {"type": "static_select", "selected_option": {"value": "SEV1"}}
            },
            "title": {"title": {"type": "plain_text_input", "value": "Checkout down"}},
        }
        send = bot.send.view_submission("declare_incident", values, user=p["alice"])
    answer = asyncio.ensure_future(send)
    try:
        await asyncio.sleep(0.5)
        assert not answer.done(), "acknowledged before the declaration was committed"
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    r = await answer
    assert r.status == 200
    incident = await bot.services.store.find("INC-1")
    assert incident is not None and incident.title == "Checkout down"
    await eventually(lambda: slack.channel_by_name("incident-20260314-checkout-down"))
