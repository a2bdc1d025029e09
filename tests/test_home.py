"""App Home: open incidents with their state, recently resolved, a Declare button."""

from __future__ import annotations

from bot.slack.ids import Action
from tests.harness import eventually
from tests.helpers import DeclaredIncident


async def test_home_lists_open_incidents_and_declares(incident: DeclaredIncident) -> None:
    slack, bot, ch, alice = incident
    r = await bot.send.event(
        {
            "type": "app_home_opened",
            "user": alice,
            "channel": "D0HOME",
            "tab": "home",
            "event_ts": "1773480700.000100",
        },
        event_id="Eh",
    )
    assert r.status == 200
    await eventually(lambda: [v for v in slack.views if v.method == "views.publish"])
    home = [v for v in slack.views if v.method == "views.publish"][-1].view
    text = str(home["blocks"])
    assert "INC-1" in text and "SEV2" in text and "Investigating" in text
    assert f"<@{alice}>" in text and ch in text
    assert "next update due 2026-03-14 10:00 UTC" in text, "SEV2: every 30 minutes"
    declare = next(b for b in home["blocks"] if b["type"] == "actions")["elements"][0]
    assert declare["action_id"] == Action.DECLARE

    r = await bot.send.block_action(Action.DECLARE, user=alice, view=home)
    assert r.status == 200
    await eventually(lambda: [v for v in slack.views if v.method == "views.open"])
    assert slack.views[-1].view["callback_id"] == "declare_incident"


async def test_private_incidents_stay_off_other_peoples_home(incident: DeclaredIncident) -> None:
    slack, bot, _, alice = incident
    general = slack.channel_by_name("general")
    assert general is not None
    await bot.send.command("security Leaked keys", user=alice, channel=general.id)
    await eventually(lambda: slack.channel_by_name("incident-20260314-leaked-keys"))
    bob = slack.add_user("bob")
    for user, expect in ((bob, False), (alice, True)):
        before = len(slack.views)
        await bot.send.event(
            {"type": "app_home_opened", "user": user, "tab": "home", "event_ts": "1.0"},
            event_id=f"Eh{user}",
        )
        await eventually(lambda n=before: len(slack.views) > n)
        assert ("Leaked keys" in str(slack.views[-1].view["blocks"])) is expect
