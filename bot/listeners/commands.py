"""The /incident slash command."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import command as cmd
from bot.blocks import declare_modal
from bot.ids import SLASH_COMMAND
from bot.incidents import IncidentError
from bot.listeners.render import declare_reply, incident_list, vocabulary
from bot.services import Services
from bot.slack_gateway import escape

log = logging.getLogger(__name__)


def register(app: AsyncApp, services: Services) -> None:
    @app.command(SLASH_COMMAND)
    async def on_incident(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        user = body["user_id"]
        channel = body.get("channel_id", "")
        vocab = vocabulary(services.policy.policy)
        try:
            parsed = cmd.parse(body.get("text", ""), vocab)
        except cmd.UsageError as e:
            await ack(response_type="ephemeral", text=e.message)
            return

        if isinstance(parsed, cmd.OpenDeclareModal):
            await ack()
            try:
                await client.views_open(
                    trigger_id=body["trigger_id"],
                    view=declare_modal(services.policy.policy, channel_id=channel),
                )
            except SlackApiError as e:
                # Usually an expired trigger (3 s): the direct form needs no modal.
                await respond(
                    response_type="ephemeral",
                    text=f"The declare form could not open (`{e.response.get('error')}`). "
                    "Type `/incident` again, or declare at once with "
                    "`/incident <severity> <title>`.",
                )
            return
        if isinstance(parsed, cmd.Help):
            await ack(response_type="ephemeral", text=cmd.help_text(vocab))
            return
        if isinstance(parsed, cmd.ListIncidents):
            incidents = await services.incidents.list_open(user)
            await ack(response_type="ephemeral", **incident_list(incidents, services))
            return
        if isinstance(parsed, cmd.Declare):
            # Ack first: creating the channel and posting takes longer than Slack's 3 s.
            await ack(
                response_type="ephemeral",
                text=f"Declaring {parsed.severity} *{escape(parsed.title)}*… "
                "the channel is on its way.",
            )
            try:
                outcome = await services.incidents.declare(
                    severity=parsed.severity, title=parsed.title, user_id=user
                )
            except IncidentError as e:
                await respond(response_type="ephemeral", replace_original=False, text=str(e))
                return
            await respond(
                response_type="ephemeral", replace_original=False, text=declare_reply(outcome)
            )
            return
        # In-incident verbs: each needs the incident channel first.
        try:
            await services.incidents.in_channel(channel)
        except IncidentError as e:
            await ack(response_type="ephemeral", text=str(e))
            return
        await ack(
            response_type="ephemeral",
            text=f"`/incident {type(parsed).__name__.lower()}` is not available yet in this "
            "version. Available now: `/incident <severity> <title>`, `list`, `help`.",
        )
