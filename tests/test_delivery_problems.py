"""What the outbox could not deliver is told to the people running the incident."""

from __future__ import annotations

from tests.harness import eventually
from tests.helpers import DeclaredIncident, say


async def test_a_channel_post_refused_for_good_reaches_the_commander(
    incident: DeclaredIncident,
) -> None:
    slack, bot, ch, alice = incident
    # Someone archived the channel (without the event reaching the bot yet).
    slack.channels[ch].is_archived = True
    assert "Update posted" in await say(bot, "update identified Found it", alice, ch)
    await bot.settled()

    def told() -> list[str]:
        return [m.text for m in slack.dms.get(alice, []) if "is_archived" in m.text]

    (dm,) = await eventually(told)
    assert "could not post in" in dm and "INC-1" in dm
    incident_ = await bot.services.store.by_channel(ch)
    assert incident_ is not None and incident_.last_update_at is not None  # the change stood


async def test_an_invite_slack_refuses_is_named_in_the_channel(
    incident: DeclaredIncident,
) -> None:
    slack, bot, ch, alice = incident
    ghost = "U0GHOST"  # no such user in the workspace
    await say(bot, f"commander <@{ghost}>", alice, ch)
    await bot.settled()
    lines = [m.text for m in slack.messages(ch) if "could not invite" in m.text]
    assert lines and "user_not_found" in lines[0], [m.text for m in slack.messages(ch)]
