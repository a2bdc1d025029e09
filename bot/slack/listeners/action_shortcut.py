"""The message shortcut "Add action item": the action item form, filled with the
message's text, for the incident whose channel the message is in."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.services import Services
from bot.slack.ids import SHORTCUT_ADD_ACTION_ITEM
from bot.slack.modals import action_item_modal
from bot.slack.mrkdwn import plain

ELSEWHERE = (
    "Use *Add action item* on a message in an incident's channel, or "
    "`/incident action <text> [@owner] [due <when>]` there."
)


def register(app: AsyncApp, services: Services) -> None:
    @app.message_shortcut(SHORTCUT_ADD_ACTION_ITEM)
    async def on_shortcut(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        incident = await services.store.by_channel(str(body["channel"]["id"]))
        if incident is None:
            view: dict[str, Any] = {
                "type": "modal",
                "title": {"type": "plain_text", "text": "Add action item"},
                "close": {"type": "plain_text", "text": "OK"},
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": ELSEWHERE}}],
            }
        else:
            text = plain(str((body.get("message") or {}).get("text") or ""))
            view = action_item_modal(incident, text=text)
        await client.views_open(trigger_id=body["trigger_id"], view=view)
