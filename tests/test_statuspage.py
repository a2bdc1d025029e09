"""The public status page shows exactly what was published, never anything internal."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import aiohttp
import pytest

from bot.ids import Action, View
from bot.incidents import IncidentError
from tests.harness import Bot, eventually

ATOM = "{http://www.w3.org/2005/Atom}"


async def get(bot: Bot, path: str) -> tuple[int, str, dict[str, str]]:
    async with aiohttp.ClientSession() as s, s.get(bot.url + path) as r:
        return r.status, await r.text(), dict(r.headers)


async def publish_by_modal(
    bot: Bot, ch: str, user: str, status: str, text: str, public: str | None
) -> None:
    slack = bot.slack
    before = len([v for v in slack.views if v.view.get("callback_id") == View.UPDATE])
    await bot.send.block_action(
        Action.POST_UPDATE,
        user=user,
        channel=ch,
        value="1",
        message_ts=slack.channels[ch].messages[0].ts,
    )
    await eventually(
        lambda: len([v for v in slack.views if v.view.get("callback_id") == View.UPDATE]) > before
    )
    values: dict[str, Any] = {
        "status": {"status": {"type": "static_select", "selected_option": {"value": status}}},
        "text": {"text": {"type": "plain_text_input", "value": text}},
    }
    if public is not None:
        values["publish"] = {
            "publish": {"type": "checkboxes", "selected_options": [{"value": "yes"}]}
        }
        values["public_text"] = {"public_text": {"type": "plain_text_input", "value": public}}
    r = await bot.send.view_submission(View.UPDATE, values, user=user)
    assert r.status == 200 and not r.body, r.body

    async def posted() -> bool:
        return any(
            e.text == text for e in await bot.services.store.timeline(1) if e.kind == "update"
        )

    await eventually(posted)


async def test_only_published_updates_reach_the_page_json_and_feed(incident) -> None:  # type: ignore[no-untyped-def]
    slack, bot, ch, alice = incident
    status, page, _ = await get(bot, "/status")
    assert status == 200 and "All systems operational" in page

    # The modal offers the policy's customer template as a draft.
    await bot.send.block_action(
        Action.POST_UPDATE,
        user=alice,
        channel=ch,
        value="1",
        message_ts=slack.channels[ch].messages[0].ts,
    )
    await eventually(lambda: [v for v in slack.views if v.view.get("callback_id") == View.UPDATE])
    modal = [v for v in slack.views if v.view.get("callback_id") == View.UPDATE][-1].view
    assert any(b.get("block_id") == "public_text" for b in modal["blocks"])

    await publish_by_modal(bot, ch, alice, "investigating", "internal: db01 at 100% cpu", None)
    await publish_by_modal(
        bot,
        ch,
        alice,
        "identified",
        "internal: bad index on orders",
        "We found the cause of slow checkouts.",
    )
    await publish_by_modal(bot, ch, alice, "monitoring", "internal: index rebuilt", None)
    await publish_by_modal(
        bot,
        ch,
        alice,
        "monitoring",
        "internal: latency back to normal",
        "A fix is live; we are monitoring.",
    )

    # Open question (see the issue note): a read right after the publishing request
    # occasionally misses the newest publication; the next read has it.
    async def both_shown() -> bool:
        return "A fix is live" in (await get(bot, "/status"))[1]

    await eventually(both_shown)
    status, page, headers = await get(bot, "/status")
    assert "We found the cause of slow checkouts." in page and "A fix is live" in page
    assert page.index("A fix is live") < page.index("We found the cause"), "newest first"
    for secret in ("internal:", ch, alice, "incident-20260314", "U0LEAD"):
        assert secret not in page
    assert "public" in headers["Cache-Control"] and "name=viewport" in page

    _, body, _ = await get(bot, "/status.json")
    import json

    data = json.loads(body)
    assert data["status"] == "incident"
    [inc] = data["incidents"]
    assert [u["text"] for u in inc["updates"]] == [
        "A fix is live; we are monitoring.",
        "We found the cause of slow checkouts.",
    ]
    assert inc["status"] == "monitoring" and "channel" not in json.dumps(data)
    assert alice not in body and ch not in body

    # Resolved, with a published resolution: it moves to "resolved recently".
    await say(bot, "resolve Index rebuilt", alice, ch)
    incident_row = await bot.services.store.get(1)
    assert incident_row is not None
    await bot.services.publisher.publish(incident_row, alice, "All good again.", "resolved")
    _, page, _ = await get(bot, "/status")
    assert "All systems operational" in page and "Resolved in the last 7 days" in page

    _, feed, headers = await get(bot, "/status/feed.atom")
    assert headers["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(feed)
    assert root.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated"):
        assert root.find(f"{ATOM}{required}") is not None
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 3
    for e in entries:
        for required in ("id", "title", "updated"):
            assert (e.find(f"{ATOM}{required}").text or "").strip()  # type: ignore[union-attr]
    assert len({e.find(f"{ATOM}id").text for e in entries}) == 3  # type: ignore[union-attr]
    assert "internal:" not in feed
    kinds = [e.kind for e in await bot.services.store.timeline(1)]
    assert kinds.count("publish") == 3


async def test_private_incidents_are_never_published(incident) -> None:  # type: ignore[no-untyped-def]
    slack, bot, _, alice = incident
    general = slack.channel_by_name("general")
    assert general is not None
    await bot.send.command("security Leaked keys", user=alice, channel=general.id)
    ch = await eventually(lambda: slack.channel_by_name("incident-20260314-leaked-keys"))
    await eventually(lambda: ch.pins)
    private = await bot.services.store.by_channel(ch.id)
    assert private is not None and private.private
    assert not await bot.services.publisher.may(private, alice)
    with pytest.raises(IncidentError, match="Private"):
        await bot.services.publisher.publish(private, alice, "Keys leaked", "investigating")
    # The modal does not even offer it.
    await bot.send.block_action(
        Action.POST_UPDATE,
        user=alice,
        channel=ch.id,
        value=str(private.id),
        message_ts=ch.messages[0].ts,
    )
    await eventually(lambda: [v for v in slack.views if v.view.get("callback_id") == View.UPDATE])
    modal = [v for v in slack.views if v.view.get("callback_id") == View.UPDATE][-1].view
    assert not any(b.get("block_id") == "public_text" for b in modal["blocks"])
    _, page, _ = await get(bot, "/status")
    assert "Leaked" not in page


async def test_only_those_the_policy_allows_may_publish(incident) -> None:  # type: ignore[no-untyped-def]
    slack, bot, _, _ = incident
    bob = slack.add_user("bob")
    inc = await bot.services.store.get(1)
    assert inc is not None
    with pytest.raises(IncidentError, match="may not publish"):
        await bot.services.publisher.publish(inc, bob, "hello", "investigating")
    _, page, _ = await get(bot, "/status")
    assert "hello" not in page


async def say(bot: Bot, text: str, user: str, channel: str) -> None:
    before = len(bot.slack.responses)
    await bot.send.command(text, user=user, channel=channel)
    await eventually(lambda: len(bot.slack.responses) > before)


async def test_update_with_publish_opens_the_prefilled_modal(incident) -> None:  # type: ignore[no-untyped-def]
    slack, bot, ch, alice = incident
    r = await bot.send.command(
        "update --publish identified Slow checkouts found", user=alice, channel=ch
    )
    assert r.status == 200
    await eventually(lambda: [v for v in slack.views if v.view.get("callback_id") == View.UPDATE])
    modal = [v for v in slack.views if v.view.get("callback_id") == View.UPDATE][-1].view
    blocks = {b.get("block_id"): b for b in modal["blocks"]}
    assert blocks["status"]["element"]["initial_option"]["value"] == "identified"
    assert blocks["text"]["element"]["initial_value"] == "Slow checkouts found"
    assert blocks["publish"]["element"]["initial_options"]
    assert "Slow checkouts found" in blocks["public_text"]["element"]["initial_value"]
    # Someone the policy does not let publish gets an ephemeral refusal instead.
    bob = slack.add_user("bob")
    slack.channels[ch].members.add(bob)
    before = len(slack.responses)
    await bot.send.command("update --publish all fine", user=bob, channel=ch)
    await eventually(lambda: len(slack.responses) > before)
    assert "may not publish" in slack.responses[-1]["text"]
