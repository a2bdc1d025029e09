"""Scribes: "Add to timeline" from the incident channel or elsewhere."""

from __future__ import annotations

from bot.slack.ids import SHORTCUT_ADD_TO_TIMELINE, View
from tests.harness import eventually
from tests.helpers import DeclaredIncident
from tests.slack_server import FakeSlack


def key_text(value: str) -> dict[str, object]:
    return {"key_text": {"key_text": {"type": "plain_text_input", "value": value}}}


async def test_from_the_incident_channel_marks_a_key_event_at_the_message_time(
    incident: DeclaredIncident,
) -> None:
    slack, bot, ch, alice = incident
    posted = slack.channels[ch].messages[0]  # any message of the channel
    r = await bot.send.message_action(
        SHORTCUT_ADD_TO_TIMELINE,
        user=alice,
        channel=ch,
        message={"ts": posted.ts, "text": "Rolled back v42", "user": alice, "type": "message"},
    )
    assert r.status == 200
    await eventually(lambda: [v for v in slack.views if v.method == "views.open"])
    modal = slack.views[-1].view
    assert modal["callback_id"] == View.ADD_TO_TIMELINE
    assert "incident" not in [b.get("block_id") for b in modal["blocks"]], "no need to ask"
    assert modal["blocks"][0]["element"]["initial_value"] == "Rolled back v42"

    r = await bot.send.view_submission(
        View.ADD_TO_TIMELINE, key_text("Rolled back to v42"), user=alice
    )
    assert r.status == 200

    async def keys() -> list[str]:
        return [e.text for e in await bot.services.store.timeline(1) if e.kind == "key"]

    assert await eventually(keys) == ["Rolled back to v42"]
    entry = next(e for e in await bot.services.store.timeline(1) if e.kind == "key")
    assert entry.ts == posted.ts and entry.key_event and entry.author_id == alice
    assert (entry.data or {}).get("permalink")
    await eventually(lambda: slack.channels[ch].messages[0].reactions)
    # Marking the same message again adds nothing.
    await bot.send.message_action(
        SHORTCUT_ADD_TO_TIMELINE,
        user=alice,
        channel=ch,
        message={"ts": posted.ts, "text": "x", "user": alice},
    )
    await eventually(lambda: len([v for v in slack.views if v.method == "views.open"]) == 2)
    await bot.send.view_submission(View.ADD_TO_TIMELINE, key_text("again"), user=alice)
    assert await keys() == ["Rolled back to v42"]


async def test_from_another_channel_the_scribe_picks_the_incident(
    incident: DeclaredIncident,
) -> None:
    slack, bot, _, alice = incident
    general = slack.channel_by_name("general")
    assert general is not None
    await slack_post(slack, general.id, alice, "customers report 500s")
    msg = slack.channels[general.id].messages[-1]
    await bot.send.message_action(
        SHORTCUT_ADD_TO_TIMELINE,
        user=alice,
        channel=general.id,
        message={"ts": msg.ts, "text": msg.text, "user": alice},
    )
    await eventually(lambda: [v for v in slack.views if v.method == "views.open"])
    modal = slack.views[-1].view
    picker = next(b for b in modal["blocks"] if b.get("block_id") == "incident")
    assert [o["value"] for o in picker["element"]["options"]] == ["1"]
    # Without picking: a field error, nothing recorded.
    r = await bot.send.view_submission(View.ADD_TO_TIMELINE, key_text("500s"), user=alice)
    body = r.json()
    assert body is not None and body["response_action"] == "errors"
    values = {
        **key_text("Customers report 500s"),
        "incident": {"incident": {"type": "static_select", "selected_option": {"value": "1"}}},
    }
    await bot.send.view_submission(View.ADD_TO_TIMELINE, values, user=alice)

    async def keys() -> list[str]:
        return [e.text for e in await bot.services.store.timeline(1) if e.kind == "key"]

    assert await eventually(keys) == ["Customers report 500s"]


async def slack_post(slack: FakeSlack, channel: str, user: str, text: str) -> None:
    """A message in another channel (posted by the bot: the fake has no user tokens)."""
    from slack_sdk.web.async_client import AsyncWebClient

    slack.channels[channel].members.add(slack.bot_user_id)
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
    await client.chat_postMessage(channel=channel, text=text)
