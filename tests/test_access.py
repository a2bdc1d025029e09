"""One privacy rule (bot/incidents/access.py): a private incident is visible to the same
people in `/incident list`, the App Home and the "Add to timeline" picker: the members of
its channel (invited responders) plus its commander, declarer and role holders."""

from __future__ import annotations

from bot.incidents.errors import NotAllowed
from bot.settings import Settings
from bot.slack.gateway import SlackChat, make_client
from bot.slack.ids import SHORTCUT_ADD_TO_TIMELINE
from tests.harness import Bot, eventually
from tests.helpers import say
from tests.slack_server import FakeSlack

# The `incident` fixture: (slack, bot, incident channel id, the declarer).
Declared = tuple[FakeSlack, Bot, str, str]

PRIVATE = "Leaked keys"


async def in_list(bot: Bot, user: str, channel: str) -> bool:
    r = await bot.send.command("list", user=user, channel=channel)
    return PRIVATE in r.body


async def on_home(slack: FakeSlack, bot: Bot, user: str) -> bool:
    before = len(slack.views)
    await bot.send.event(
        {"type": "app_home_opened", "user": user, "tab": "home", "event_ts": "1.0"},
        event_id=f"Eh{user}{before}",
    )
    await eventually(lambda: len(slack.views) > before)
    return PRIVATE in str(slack.views[-1].view["blocks"])


async def in_picker(slack: FakeSlack, bot: Bot, user: str, channel: str) -> bool:
    before = len(slack.views)
    await bot.send.message_action(
        SHORTCUT_ADD_TO_TIMELINE,
        user=user,
        channel=channel,
        message={"ts": "1773480700.000100", "text": "customers report 500s", "user": user},
    )
    await eventually(lambda: len(slack.views) > before)
    return PRIVATE in str(slack.views[-1].view["blocks"])


async def test_a_private_incident_is_seen_by_the_same_people_everywhere(incident: Declared) -> None:
    slack, bot, _, alice = incident
    general = slack.channel_by_name("general")
    assert general is not None
    # SEC invites the lead: an invited responder, neither commander nor role holder.
    await bot.send.command(f"security {PRIVATE}", user=alice, channel=general.id)
    ch = await eventually(lambda: slack.channel_by_name("incident-20260314-leaked-keys"))
    lead = "U0LEAD"
    await eventually(lambda: lead in ch.members)
    await eventually(lambda: "INC-2 declared" in str(slack.responses[-1]))
    # A scribe who left the channel still runs the incident: a role holder sees it.
    carol = slack.add_user("carol")
    assert "scribe" in await say(bot, f"role scribe <@{carol}>", alice, ch.id)
    ch.members.discard(carol)
    bob = slack.add_user("bob")  # an outsider
    for user, expect in ((alice, True), (lead, True), (carol, True), (bob, False)):
        seen = (
            await in_list(bot, user, general.id),
            await on_home(slack, bot, user),
            await in_picker(slack, bot, user, general.id),
        )
        assert seen == (expect, expect, expect), (user, seen)


async def test_export_for_a_viewer_follows_the_rule(incident: Declared) -> None:
    slack, bot, _, alice = incident
    general = slack.channel_by_name("general")
    assert general is not None
    await bot.send.command(f"security {PRIVATE}", user=alice, channel=general.id)
    await eventually(lambda: slack.channel_by_name("incident-20260314-leaked-keys"))
    services = bot.services

    async def stored() -> bool:  # Slack made the channel; the bot stores its id just after
        found = await services.store.get(2)
        return found is not None and found.channel_id is not None

    await eventually(stored)
    incident_ = await services.store.get(2)
    assert incident_ is not None and incident_.private and incident_.channel_id
    policy = await services.policy.of(incident_)
    await eventually(lambda: "U0LEAD" in slack.channels[incident_.channel_id or ""].members)
    exported = await services.reports.export(incident_, policy, viewer="U0LEAD")
    assert exported["incident"]["title"] == PRIVATE
    bob = slack.add_user("bob")
    try:
        await services.reports.export(incident_, policy, viewer=bob)
    except NotAllowed as e:
        assert "INC-2" in str(e)
    else:
        raise AssertionError("an outsider exported a private incident")
    # The operator (the `export` command, no viewer) exports every incident.
    assert (await services.reports.export(incident_, policy))["incident"]["id"] == 2


async def test_channel_members_reads_every_page(slack: FakeSlack) -> None:
    people = [f"U{i:08d}" for i in range(2500)]
    ch = slack.add_channel("incident-big", private=True, members=[*people, slack.bot_user_id])
    chat = SlackChat(
        make_client(Settings(slack_bot_token=slack.bot_token, slack_api_url=slack.api_url))
    )
    try:
        assert await chat.channel_members(ch) == {*people, slack.bot_user_id}
    finally:
        await chat.close()
