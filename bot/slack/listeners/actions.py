"""Buttons, each one a record in slack/controls.py: check its permission, then open its
modal (or, for Escalate, act at once). The clicker is Slack's payload user, never
anything in the button's value (which only names the incident)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.services import Services
from bot.slack.controls import BY_ACTION
from bot.slack.form import Form
from bot.slack.middleware import asked


def register(app: AsyncApp, services: Services) -> None:
    async def on_button(
        ack: AsyncAck,
        body: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        await ack()
        # Refusals go back as ephemeral messages (or a DM) through slack/errors.py.
        control = BY_ACTION[body["actions"][0]["action_id"]]
        # With the incident and the policy it started with, from slack/middleware.py.
        request = asked(
            services,
            client,
            context,
            control,
            body["user"]["id"],
            gone="That incident no longer exists.",
        )
        value = str(body["actions"][0].get("value") or "")
        request = replace(request, subject=value.partition(":")[2])
        await request.check()
        if control.opens is None:
            said = await control.submit(request, Form({}), ack)
            if said:
                await respond(response_type="ephemeral", replace_original=False, text=said)
            return
        view = await control.opens(request)
        await client.views_open(trigger_id=body["trigger_id"], view=view)

    for action in BY_ACTION:
        app.action(action)(on_button)
