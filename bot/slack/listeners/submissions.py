"""Modal submissions, each handled by its control's record in slack/controls.py. A
refusal before the ack goes back onto the modal's field; after it (e.g. someone
resolved meanwhile) by DM (slack/errors.py)."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.services import Services
from bot.slack.controls import BY_VIEW
from bot.slack.form import Form
from bot.slack.middleware import asked


def register(app: AsyncApp, services: Services) -> None:
    async def on_submit(
        ack: AsyncAck,
        body: dict[str, Any],
        view: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        control = BY_VIEW[str(view.get("callback_id"))]
        # With the incident and the policy it started with, from slack/middleware.py.
        request = asked(
            services, client, context, control, body["user"]["id"], gone="That incident is gone."
        )
        await control.submit(request, Form(view), ack)

    for callback in BY_VIEW:
        app.view(callback)(on_submit)
