"""The message shortcut "Add to timeline": scribes mark key events, from the incident
channel or from any other (then the modal asks which open incident)."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.incidents.errors import IncidentError, MissingText
from bot.incidents.timeline import ts_time
from bot.services import Services
from bot.slack import mrkdwn
from bot.slack.blocks import clip, option
from bot.slack.form import Form
from bot.slack.ids import (
    KEY_EVENT_REACTION,
    SHORTCUT_ADD_TO_TIMELINE,
    Field,
    SlackError,
    View,
)

log = logging.getLogger(__name__)


def _input(field: Field, label: str, element: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": field.value,
        "label": {"type": "plain_text", "text": label},
        "element": {"action_id": field.value, **element},
    }


def register(app: AsyncApp, services: Services) -> None:
    # A message shortcut (manifest.yml): a global one by that name has no message to add.
    @app.message_shortcut(SHORTCUT_ADD_TO_TIMELINE)
    async def on_shortcut(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        channel = body["channel"]["id"]
        message = body.get("message") or {}
        ts = str(message.get("ts", ""))
        incident = await services.store.by_channel(channel)
        blocks: list[dict[str, Any]] = []
        if incident is None or not incident.is_open:
            viewer = body["user"]["id"]
            choices = list(await services.access.list_open(viewer))
            if not choices:
                await client.views_open(
                    trigger_id=body["trigger_id"],
                    view={
                        "type": "modal",
                        "title": {"type": "plain_text", "text": "Add to timeline"},
                        "close": {"type": "plain_text", "text": "OK"},
                        "blocks": [
                            {
                                "type": "section",
                                "text": {
                                    "type": "mrkdwn",
                                    "text": "There is no open incident to add this message to.",
                                },
                            }
                        ],
                    },
                )
                return
            blocks.append(
                _input(
                    Field.INCIDENT,
                    "Incident",
                    {
                        "type": "static_select",
                        "options": [
                            option(str(i.id), f"{i.number} {i.severity}: {i.title}")
                            for i in choices[:100]
                        ],
                    },
                )
            )
        try:
            link = (await client.chat_getPermalink(channel=channel, message_ts=ts))["permalink"]
        except SlackApiError:
            link = None
        when = ts_time(ts).strftime("%Y-%m-%d %H:%M:%S UTC") if ts else "-"
        blocks.append(
            _input(
                Field.KEY_TEXT,
                "Key event",
                {
                    "type": "plain_text_input",
                    "multiline": True,
                    "max_length": 3000,
                    "initial_value": clip(message.get("text") or "", 3000),
                },
            )
        )
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": clip(
                            f"Posted {when} by {mrkdwn.user(str(message.get('user', '')))}"
                            + (f" · {mrkdwn.link(link, 'link')}" if link else ""),
                            3000,
                        ),
                    }
                ],
            }
        )
        await client.views_open(
            trigger_id=body["trigger_id"],
            view={
                "type": "modal",
                "callback_id": View.ADD_TO_TIMELINE.value,
                "title": {"type": "plain_text", "text": "Add to timeline"},
                "submit": {"type": "plain_text", "text": "Add"},
                "close": {"type": "plain_text", "text": "Cancel"},
                "private_metadata": json.dumps(
                    {
                        "channel": channel,
                        "ts": ts,
                        "permalink": link,
                        "incident": incident.id if incident and incident.is_open else None,
                    }
                ),
                "blocks": blocks,
            },
        )

    @app.view(View.ADD_TO_TIMELINE.value)
    async def on_submit(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        form = Form(view)
        meta = _metadata(form.metadata)
        picked = form.value(Field.INCIDENT)
        chosen = meta.get("incident") or picked
        incident_id = int(chosen) if str(chosen or "").isdigit() else None
        text = form.value(Field.KEY_TEXT)
        if incident_id is None:
            raise IncidentError("Pick an incident.", field=Field.INCIDENT)
        if not text:
            raise MissingText("Say what happened.", field=Field.KEY_TEXT)
        if not isinstance(meta.get("channel"), str) or not isinstance(meta.get("ts"), str):
            # The form carries the message it marks; one without it cannot be ours.
            raise IncidentError("This form is out of date: use the shortcut on the message again.")
        await ack()
        user = body["user"]["id"]
        incident = await services.store.get(int(incident_id))
        if incident is None:
            return
        await services.timeline.mark_key(
            incident.id,
            channel=meta["channel"],
            ts=meta["ts"],
            text=text,
            by=user,
            permalink=meta.get("permalink"),
        )
        try:  # the scribe sees the mark on the message itself
            await client.reactions_add(
                channel=meta["channel"], timestamp=meta["ts"], name=KEY_EVENT_REACTION
            )
        except SlackApiError as e:
            if e.response.get("error") != SlackError.ALREADY_REACTED:
                await client.chat_postMessage(
                    channel=user,
                    text=f"Added to the timeline of {incident.number}: {mrkdwn.escape(text[:200])}",
                )


def _metadata(raw: str | None) -> dict[str, Any]:
    """The form's private_metadata: the message it marks, written when it opened. Read
    defensively: a signed request can still carry anything there."""
    try:
        meta = json.loads(raw or "{}")
    except ValueError:
        return {}
    return meta if isinstance(meta, dict) else {}
