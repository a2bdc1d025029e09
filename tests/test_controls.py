"""The commander's controls, by command and by button/modal, with permissions."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.slack.ids import Action, View
from bot.store.tables import Page
from tests.harness import Bot, eventually
from tests.helpers import DeclaredIncident, pending_jobs, posts, say, virtual_clock

T0_NAG = "2026-03-14 10:00"  # SEV2 declared 09:30, every 30 minutes


async def pending_nags(bot: Bot) -> list[str]:
    return [d.strftime("%Y-%m-%d %H:%M") for d in await pending_jobs(bot, "nag")]


async def kinds(bot: Bot) -> list[str]:
    return [e.kind for e in await bot.services.store.timeline(1)]


async def test_update_by_command_posts_the_template_and_restarts_the_clock(
    incident: DeclaredIncident,
) -> None:
    slack, bot, ch, alice = incident
    assert await pending_nags(bot) == [T0_NAG]
    virtual_clock(bot).advance(timedelta(minutes=20))
    answer = await say(bot, "update identified Bad deploy found", alice, ch)
    assert "Update posted" in answer
    inc = await bot.services.store.get(1)
    assert inc is not None and inc.status == "identified"
    assert await pending_nags(bot) == ["2026-03-14 10:20"]
    assert any("Bad deploy found" in t for t in posts(slack, ch))
    assert "update" in await kinds(bot)


async def test_update_by_button_and_modal(incident: DeclaredIncident) -> None:
    slack, bot, ch, alice = incident
    announcement = slack.channels[ch].messages[0]
    r = await bot.send.block_action(
        Action.POST_UPDATE, user=alice, channel=ch, value="1", message_ts=announcement.ts
    )
    assert r.status == 200
    await eventually(lambda: [v for v in slack.views if v.view.get("callback_id") == View.UPDATE])
    values = {
        "status": {"status": {"type": "static_select", "selected_option": {"value": "monitoring"}}},
        "text": {"text": {"type": "plain_text_input", "value": "Fix deployed"}},
    }
    r = await bot.send.view_submission(View.UPDATE, values, user=alice)
    assert r.status == 200 and not r.body
    await eventually(lambda: any("Fix deployed" in t for t in posts(slack, ch)))
    inc = await bot.services.store.get(1)
    assert inc is not None and inc.status == "monitoring"


async def test_only_the_commander_or_tech_lead_resolves_by_command_and_button(
    incident: DeclaredIncident,
) -> None:
    slack, bot, ch, alice = incident
    bob = slack.add_user("bob")
    slack.channels[ch].members.add(bob)
    answer = await say(bot, "resolve all good", bob, ch)
    assert "may not resolve" in answer and "commander" in answer
    r = await bot.send.block_action(
        Action.RESOLVE,
        user=bob,
        channel=ch,
        value="1",
        message_ts=slack.channels[ch].messages[0].ts,
    )
    assert r.status == 200
    await eventually(
        lambda: any("may not resolve" in str(x.get("text")) for x in slack.responses[-1:])
    )
    assert not [v for v in slack.views if v.view.get("callback_id") == View.RESOLVE]
    inc = await bot.services.store.get(1)
    assert inc is not None and inc.resolved_at is None and "resolve" not in await kinds(bot)
    # A role the policy names may: make bob tech lead, then he resolves.
    assert "tech_lead" in await say(bot, f"role tech_lead <@{bob}>", alice, ch)
    assert "resolved" in await say(bot, "resolve Rolled back", bob, ch)


async def test_resolve_stops_every_clock_and_announces(incident: DeclaredIncident) -> None:
    slack, bot, ch, alice = incident
    await say(bot, "resolve Rolled back the deploy", alice, ch)
    assert await pending_nags(bot) == []
    inc = await bot.services.store.get(1)
    assert inc is not None and inc.status == "resolved" and inc.summary
    incidents = slack.channel_by_name("incidents")
    assert incidents is not None
    assert any("resolved" in m.text for m in incidents.messages)
    assert "resolved" in (await say(bot, "update more", alice, ch)).lower()


async def test_severity_change_replans_at_once(incident: DeclaredIncident) -> None:
    _, bot, ch, alice = incident
    virtual_clock(bot).advance(timedelta(minutes=5))
    answer = await say(bot, "severity SEV1", alice, ch)
    assert "SEV1" in answer
    assert await pending_nags(bot) == ["2026-03-14 09:45"], "SEV1: every 15 minutes"
    assert "Unknown severity" in await say(bot, "severity SEV7", alice, ch)


async def test_snooze_by_button_delays_the_next_reminder_only(incident: DeclaredIncident) -> None:
    slack, bot, ch, alice = incident
    r = await bot.send.block_action(
        Action.SNOOZE,
        user=alice,
        channel=ch,
        value="1",
        message_ts=slack.channels[ch].messages[0].ts,
    )
    assert r.status == 200
    await eventually(lambda: [v for v in slack.views if v.view.get("callback_id") == View.SNOOZE])
    virtual_clock(bot).advance(timedelta(minutes=25))  # 09:55, nag due 10:00
    values = {
        "duration": {"duration": {"type": "static_select", "selected_option": {"value": "30m"}}}
    }
    await bot.send.view_submission(View.SNOOZE, values, user=alice)

    async def snoozed() -> bool:
        return await pending_nags(bot) == ["2026-03-14 10:25"]

    await eventually(snoozed)


async def test_ack_escalate_commander_note_timeline_postmortem(incident: DeclaredIncident) -> None:
    slack, bot, ch, alice = incident
    assert "Nothing to acknowledge" in await say(bot, "ack", alice, ch)
    assert "Lead" in await say(bot, "escalate database is melting", alice, ch)
    assert "U0LEAD" in slack.channels[ch].members
    # The page is the Lead's: the commander cannot acknowledge it for them.
    assert "addressed to you" in await say(bot, "ack", alice, ch)
    assert "Acknowledged (1 page)" in await say(bot, "ack", "U0LEAD", ch)
    async with bot.services.store.session() as s:
        page = (await s.exec(select(Page))).one()
    assert page.acked_at is not None and page.acked_by == "U0LEAD"
    assert "Every level" in await say(bot, "escalate again", alice, ch)

    bob = slack.add_user("bob")
    assert "commander" in await say(bot, f"commander <@{bob}>", alice, ch)
    assert bob in slack.channels[ch].members
    inc = await bot.services.store.get(1)
    assert inc is not None and inc.commander_id == bob
    # The old commander may no longer resolve.
    assert "may not resolve" in await say(bot, "resolve done", alice, ch)

    assert "Noted" in await say(bot, "note Restarted the primary", alice, ch)
    listing = await say(bot, "list", alice, ch)
    assert "acked in 0s" in listing and "no update yet" in listing
    timeline = await say(bot, "timeline", alice, ch)
    for expected in (
        "Declared",
        "Escalation",
        "Acknowledged",
        "Commander",
        "Restarted the primary",
    ):
        assert expected in timeline
    answer = await say(bot, "postmortem", alice, ch)
    assert "postmortem-INC-1.md" in answer
    files = [f for m in slack.messages(ch) for f in (m.files or [])]
    assert any(f["name"] == "postmortem-INC-1.md" for f in files)
