"""A public incident changed to a private severity becomes private from that moment
(issue 13): it moves to a new private channel (members invited, a pointer in the old
one, the old one archived), and nothing more about it reaches an outsider through
#incidents, `list`, the App Home, the status page or an export. Lowering it again does
not make it public; a Slack refusal to make the channel still leaves it private."""

from __future__ import annotations

import aiohttp
import pytest

from bot.incidents.errors import NotAllowed
from tests.harness import Bot
from tests.helpers import LEAD, DeclaredIncident, posts, say
from tests.slack_server import FakeSlack

TITLE = "Checkout errors"


async def page(bot: Bot, path: str) -> str:
    async with aiohttp.ClientSession() as s, s.get(bot.url + path) as r:
        assert r.status == 200
        return await r.text()


async def on_home(slack: FakeSlack, bot: Bot, user: str) -> bool:
    before = len(slack.views)
    await bot.send.event(
        {"type": "app_home_opened", "user": user, "tab": "home", "event_ts": "1.0"},
        event_id=f"Eh{user}{before}",
    )
    await bot.settled()
    views = [v for v in slack.views[before:] if v.method == "views.publish"]
    assert views
    return TITLE in str(views[-1].view["blocks"])


async def in_list(bot: Bot, user: str, channel: str) -> bool:
    return TITLE in await say(bot, "list", user, channel)


async def test_a_change_to_a_private_severity_leaves_nothing_for_outsiders(
    incident: DeclaredIncident,
) -> None:
    slack, bot, old, alice = incident
    general = slack.channel_by_name("general")
    incidents = slack.channel_by_name("incidents")
    assert general is not None and incidents is not None
    dave = slack.add_user("dave")  # in #general, never in the incident
    general.members.add(dave)
    declared = await bot.services.store.get(1)
    assert declared is not None  # published as the update modal does
    await bot.services.publisher.publish(declared, alice, "Payments fail for some", "identified")
    assert "Payments fail for some" in await page(bot, "/status")
    assert await in_list(bot, dave, general.id) and await on_home(slack, bot, dave)
    members = set(slack.channels[old].members)

    await say(bot, "severity SEC", alice, old)
    inc = await bot.services.store.get(1)
    assert inc is not None and inc.private and inc.channel_id != old
    assert inc.channel_id is not None
    new = slack.channels[inc.channel_id]
    assert new.is_private and new.name == "incident-20260314-checkout-errors-private"
    assert members <= new.members and LEAD in new.members, "members and SEC's invitees"
    assert slack.channels[old].is_archived
    assert any("is private from now on" in t for t in posts(slack, old))
    [pinned_ts] = new.pins
    pinned = next(m.text for m in new.messages if m.ts == pinned_ts)
    assert "*SEC* (Security incident)" in pinned

    # Nothing more reaches an outsider.
    announced = len(slack.messages(incidents.id))
    await say(bot, "update monitoring rotated the keys", alice, new.id)
    await say(bot, "severity SEV2", alice, new.id)
    inc = await bot.services.store.get(1)
    assert inc is not None and inc.private, "lowering never makes it public"
    await say(bot, "resolve keys rotated", alice, new.id)
    assert len(slack.messages(incidents.id)) == announced, "#incidents hears nothing more"
    assert not await in_list(bot, dave, general.id)
    assert not await on_home(slack, bot, dave)
    for path in ("/status", "/status.json", "/status/feed.atom"):
        body = await page(bot, path)
        assert "Payments fail for some" not in body and TITLE not in body, path
    inc = await bot.services.store.get(1)
    assert inc is not None
    pol = await bot.services.policy.of(inc)
    with pytest.raises(NotAllowed):
        await bot.services.reports.export(inc, pol, viewer=dave)
    # The people in it still see it.
    assert await on_home(slack, bot, alice)
    assert (await bot.services.reports.export(inc, pol, viewer=alice))["incident"]["private"]


async def test_a_refused_private_channel_still_leaves_the_incident_private(
    incident: DeclaredIncident,
) -> None:
    slack, bot, ch, alice = incident
    slack.fail("conversations.create", error="restricted_action")
    await say(bot, "severity SEC", alice, ch)
    inc = await bot.services.store.get(1)
    assert inc is not None and inc.private and inc.severity == "SEC"
    assert inc.channel_id == ch and not slack.channels[ch].is_archived
    told = [t for t in posts(slack, ch) if "could not be moved" in t]
    assert told and "`restricted_action`" in told[0] and f"<@{alice}>" in told[0]
