"""The public status page shows exactly what was published, never anything internal."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import pytest

from bot.incidents.errors import IncidentError
from bot.slack.ids import Action, View
from bot.store.tables import Publication
from tests.harness import Bot, eventually
from tests.helpers import DeclaredIncident, say, virtual_clock

ATOM = "{http://www.w3.org/2005/Atom}"


def assert_atom(text: str) -> list[ET.Element]:
    """The elements RFC 4287 requires (4.1.1, 4.1.2, 4.2.6), checked by hand; returns the
    entries."""

    def one(parent: ET.Element, tag: str) -> str:
        found = parent.findall(f"{ATOM}{tag}")
        assert len(found) == 1, f"exactly one atom:{tag} in {parent.tag}"
        return (found[0].text or "").strip()

    def instant(value: str) -> None:
        # RFC 3339 date-time: a full date, a time and a zone.
        when = datetime.fromisoformat(value)
        assert "T" in value and when.tzinfo is not None, value

    root = ET.fromstring(text)
    assert root.tag == f"{ATOM}feed"
    feed_id = one(root, "id")
    assert feed_id.startswith(("urn:", "tag:", "http")), "an absolute IRI"
    assert one(root, "title")
    instant(one(root, "updated"))
    [self_link] = [x for x in root.findall(f"{ATOM}link") if x.get("rel") == "self"]
    assert self_link.get("href", "").endswith("/status/feed.atom")
    entries = root.findall(f"{ATOM}entry")
    feed_author = root.find(f"{ATOM}author/{ATOM}name") is not None
    for e in entries:
        assert one(e, "id").startswith("urn:uuid:")
        assert one(e, "title")
        instant(one(e, "updated"))
        assert feed_author or e.find(f"{ATOM}author/{ATOM}name") is not None
        content = e.find(f"{ATOM}content")
        alternate = [x for x in e.findall(f"{ATOM}link") if x.get("rel") == "alternate"]
        assert content is not None or alternate, "content or an alternate link (4.1.2)"
        assert content is None or content.get("type") == "text"
    return entries


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

    # The view is acked before the update is recorded, and the publication is stored
    # after the update: wait for the last thing this submission writes.
    async def posted() -> bool:
        entries = await bot.services.store.timeline(1)
        if public is not None:
            return any(e.kind == "publish" and public in e.text for e in entries)
        return any(e.kind == "update" and e.text == text for e in entries)

    await eventually(posted)


async def test_only_published_updates_reach_the_page_json_and_feed(
    incident: DeclaredIncident,
) -> None:
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

    status, page, headers = await get(bot, "/status")
    assert "We found the cause of slow checkouts." in page and "A fix is live" in page
    assert page.index("A fix is live") < page.index("We found the cause"), "newest first"
    for secret in ("internal:", ch, alice, "incident-20260314", "U0LEAD"):
        assert secret not in page
    assert "public" in headers["Cache-Control"] and "name=viewport" in page

    _, body, _ = await get(bot, "/status.json")
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
    entries = assert_atom(feed)
    assert len(entries) == 3
    assert len({e.findtext(f"{ATOM}id") for e in entries}) == 3
    assert [e.findtext(f"{ATOM}content") for e in entries] == [
        "All good again.",
        "A fix is live; we are monitoring.",
        "We found the cause of slow checkouts.",
    ]
    assert "internal:" not in feed and alice not in feed and ch not in feed
    # Entry ids do not depend on the name the feed was fetched by (RFC 4287 4.2.6).
    async with (
        aiohttp.ClientSession() as session,
        session.get(bot.url + "/status/feed.atom", headers={"Host": "status.example"}) as r,
    ):
        moved = assert_atom(await r.text())
    assert [e.findtext(f"{ATOM}id") for e in moved] == [e.findtext(f"{ATOM}id") for e in entries]
    kinds = [e.kind for e in await bot.services.store.timeline(1)]
    assert kinds.count("publish") == 3


async def test_private_incidents_are_never_published(incident: DeclaredIncident) -> None:
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
    # Even a publication row that somehow exists never shows a private incident.
    async with bot.services.store.session() as s:
        s.add(
            Publication(
                incident_id=private.id or 0,
                status="investigating",
                public_title="Leaked keys",
                text="Keys leaked",
                published_by=alice,
                published_at=bot.services.clock.now(),
            )
        )
        await s.commit()
    for path in ("/status", "/status.json", "/status/feed.atom"):
        _, body, _ = await get(bot, path)
        assert "Leaked" not in body and "Keys leaked" not in body


async def test_only_those_the_policy_allows_may_publish(incident: DeclaredIncident) -> None:
    slack, bot, _, _ = incident
    bob = slack.add_user("bob")
    inc = await bot.services.store.get(1)
    assert inc is not None
    with pytest.raises(IncidentError, match="may not publish"):
        await bot.services.publisher.publish(inc, bob, "hello", "investigating")
    _, page, _ = await get(bot, "/status")
    assert "hello" not in page


async def test_update_with_publish_opens_the_prefilled_modal(incident: DeclaredIncident) -> None:
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


async def test_all_clear_when_nothing_is_published(incident: DeclaredIncident) -> None:
    _, bot, _, _ = incident  # declared, but nothing published: not on the page
    _, page, _ = await get(bot, "/status")
    assert "All systems operational" in page and "Checkout errors" not in page
    _, body, _ = await get(bot, "/status.json")
    data = json.loads(body)
    assert data["status"] == "operational" and data["incidents"] == []
    assert data["title"] == "Status" and data["company"] == "Testco"
    _, feed, _ = await get(bot, "/status/feed.atom")
    assert assert_atom(feed) == []


async def test_text_is_escaped_and_an_edited_public_title_sticks(
    incident: DeclaredIncident,
) -> None:
    _, bot, _, alice = incident
    inc = await bot.services.store.get(1)
    assert inc is not None
    pub = bot.services.publisher
    await pub.publish(
        inc,
        alice,
        "<script>alert(1)</script> & more",
        "investigating",
        public_title="Checkout <b>slow</b>",
    )
    await pub.publish(inc, alice, "Still looking.", "investigating")
    _, page, _ = await get(bot, "/status")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page
    assert "Checkout &lt;b&gt;slow&lt;/b&gt;" in page and "Checkout errors" not in page
    _, body, _ = await get(bot, "/status.json")
    assert json.loads(body)["incidents"][0]["title"] == "Checkout <b>slow</b>"


async def test_drafts_are_plain_text_and_the_final_status_uses_the_resolution(
    incident: DeclaredIncident,
) -> None:
    _, bot, ch, alice = incident
    inc = await bot.services.store.get(1)
    assert inc is not None
    pub = bot.services.publisher
    update = await pub.draft(inc, "identified", "Slow checkouts found.")
    assert update.startswith("Identified - Checkout errors") and "Slow checkouts found." in update
    final = await pub.draft(inc, "resolved", "A bad index, rebuilt.")
    # customer_resolution ("*Resolved* - {title}\n{summary}"), the update as the summary
    # until the incident has one; Slack's *bold* is gone.
    assert final == "Resolved - Checkout errors\nA bad index, rebuilt."
    for draft in (update, final):
        assert "*" not in draft and alice not in draft and ch not in draft


async def test_resolved_incidents_leave_the_page_after_seven_days(
    incident: DeclaredIncident,
) -> None:
    _, bot, ch, alice = incident
    inc = await bot.services.store.get(1)
    assert inc is not None
    await bot.services.publisher.publish(inc, alice, "Looking into it.", "investigating")
    await say(bot, "resolve Index rebuilt", alice, ch)
    _, page, _ = await get(bot, "/status")
    assert "Resolved in the last 7 days" in page and "Looking into it." in page
    virtual_clock(bot).advance(timedelta(days=7, minutes=1))
    _, page, _ = await get(bot, "/status")
    assert "Looking into it." not in page and "All systems operational" in page
