"""Modal submissions."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.ids import Field, View
from bot.incidents import IncidentError
from bot.listeners.render import declare_reply
from bot.services import Services


def _value(view: dict[str, Any], field: Field) -> str:
    def get(d: Any, key: str) -> Any:
        return d.get(key) if isinstance(d, dict) else None

    state = get(get(get(get(view, "state"), "values"), field.value), field.value)
    value = get(get(state, "selected_option"), "value") or get(state, "value")
    return value.strip() if isinstance(value, str) else ""


def register(app: AsyncApp, services: Services) -> None:
    @app.view(View.DECLARE.value)
    async def on_declare(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        user = body["user"]["id"]
        severity, title = _value(view, Field.SEVERITY), _value(view, Field.TITLE)
        errors: dict[str, str] = {}
        if services.policy.policy.severity(severity) is None:
            errors[Field.SEVERITY.value] = "Pick one of the severities in the list."
        if not title or not any(c.isalnum() for c in title):
            errors[Field.TITLE.value] = "Give the incident a title, e.g. Payment processing down."
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        try:
            outcome = await services.incidents.declare(severity=severity, title=title, user_id=user)
            text = declare_reply(outcome)
        except IncidentError as e:
            text = str(e)
        # A modal has no response_url: tell the declarer by DM.
        await client.chat_postMessage(channel=user, text=text)
