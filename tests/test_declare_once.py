"""A declare modal declares once, however often it is submitted: its view id (unique per
opened modal) is the declaration's key. Signed HTTP in, the fake Slack server out, on
SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from bot.clock import VirtualClock
from bot.incidents.declare import Incidents
from bot.slack.ids import View
from bot.store.tables import Incident
from tests.harness import Bot, eventually, listeners_done, start_bot
from tests.helpers import add_test_team, postgres_database
from tests.slack_server import FakeSlack

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
DOUBLE_CLICK = 0.15  # seconds between the two submissions of one modal


@pytest.fixture(params=["sqlite", "postgresql"])
async def world(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[FakeSlack, Bot, str, str]]:
    async with AsyncExitStack() as stack:
        url = (
            f"sqlite+aiosqlite:///{tmp_path}/bot.db"
            if request.param == "sqlite"
            else await stack.enter_async_context(postgres_database())
        )
        slack = FakeSlack.from_manifest(ROOT / "manifest.yml")
        await slack.start()
        alice, general = add_test_team(slack)
        bot = await start_bot(slack, url, clock=VirtualClock(T0))
        yield slack, bot, alice, general
        await listeners_done()
        await bot.stop()
        await slack.stop()


def declare_values(title: str) -> dict[str, Any]:
    return {
        "severity": {"severity": {"type": "static_select", "selected_option": {"value": "SEV2"}}},
        "title": {"title": {"type": "plain_text_input", "value": title}},
    }


async def open_declare_modal(slack: FakeSlack, bot: Bot, user: str, channel: str) -> str:
    """`/incident` alone opens the declare modal; returns its view id."""
    before = len(slack.views)
    r = await bot.send.command("", user=user, channel=channel)
    assert r.status == 200
    await eventually(lambda: len(slack.views) > before)
    view_id = next(
        v.id
        for v in reversed(slack.current_views.values())
        if v.view["callback_id"] == View.DECLARE
    )
    return str(view_id)


async def incidents(bot: Bot) -> list[Incident]:
    async with bot.services.store.session() as s:
        return list((await s.exec(select(Incident).order_by(col(Incident.id)))).all())


async def test_a_double_click_on_submit_declares_one_incident(
    world: tuple[FakeSlack, Bot, str, str],
) -> None:
    slack, bot, alice, general = world
    view_id = await open_declare_modal(slack, bot, alice, general)
    values = declare_values("Login errors")

    async def submit_twice() -> list[Any]:
        first = asyncio.ensure_future(
            bot.send.view_submission(View.DECLARE, values, user=alice, view_id=view_id)
        )
        await asyncio.sleep(DOUBLE_CLICK)
        second = bot.send.view_submission(View.DECLARE, values, user=alice, view_id=view_id)
        return list(await asyncio.gather(first, second))

    answers = await submit_twice()
    # Both close the modal (an empty 200), as the first alone would.
    assert [(r.status, r.body) for r in answers] == [(200, ""), (200, "")]
    feed = slack.channel_by_name("incidents")
    assert feed is not None
    ch = await eventually(lambda: slack.channel_by_name("incident-20260314-login-errors"))
    await eventually(lambda: slack.dms.get(alice) and ch.pins and slack.messages(feed.id))
    await listeners_done()
    await asyncio.sleep(0.3)  # whatever a second declaration would send has had its time

    stored = await incidents(bot)
    assert [(i.number, i.declaration_key) for i in stored] == [("INC-1", view_id)]
    assert len(slack.calls_to("conversations.create")) == 1
    assert len(ch.pins) == 1  # one announcement, pinned
    assert len(slack.messages(feed.id)) == 1
    assert len(slack.dms[alice]) == 1 and "INC-1" in slack.dms[alice][0].text


async def test_two_modals_declare_two_incidents(world: tuple[FakeSlack, Bot, str, str]) -> None:
    slack, bot, alice, general = world
    first = await open_declare_modal(slack, bot, alice, general)
    second = await open_declare_modal(slack, bot, alice, general)
    assert first != second
    for view_id in (first, second):  # the same title: only the view tells them apart
        r = await bot.send.view_submission(
            View.DECLARE, declare_values("Login errors"), user=alice, view_id=view_id
        )
        assert r.status == 200
    await listeners_done()

    async def both_set_up() -> list[Incident]:
        stored = await incidents(bot)
        return stored if len({i.channel_id for i in stored} - {None}) == 2 else []

    stored = await eventually(both_set_up)
    assert [(i.number, i.declaration_key) for i in stored] == [
        ("INC-1", first),
        ("INC-2", second),
    ]


async def test_a_duplicate_in_a_batch_fails_none_of_the_others(
    world: tuple[FakeSlack, Bot, str, str],
) -> None:
    """Declarations arriving together share one INSERT: a key seen before, or twice in the
    batch, gets the stored incident and leaves the other rows of the batch alone."""
    _slack, bot, alice, _general = world
    declare: Incidents = bot.services.incidents
    earlier = await declare.open(severity="SEV2", title="Earlier", user_id=alice, key="V1")

    async def one(title: str, key: str | None) -> tuple[int, bool]:
        opened = await declare.open(severity="SEV2", title=title, user_id=alice, key=key)
        return opened.incident.id, opened.new

    results = await asyncio.gather(
        one("A", "V2"), one("Again", "V1"), one("B", None), one("A again", "V2"), one("C", "V3")
    )
    ids = [i for i, _ in results]
    assert [new for _, new in results] == [True, False, True, False, True]
    assert ids[1] == earlier.incident.id and ids[3] == ids[0]
    titles = {i.id: i.title for i in await incidents(bot)}
    assert sorted(titles.values()) == ["A", "B", "C", "Earlier"]
    assert titles[ids[1]] == "Earlier"
