"""Modal submissions."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.incidents.controls import SNOOZE_CHOICES
from bot.incidents.errors import (
    IncidentError,
    MissingText,
    NotAllowed,
    UnknownSeverity,
)
from bot.policy.durations import format_duration
from bot.services import Services
from bot.slack.ids import Field, View
from bot.slack.replies import declare_reply


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
        # Stored before the ack: once the modal closes, the declaration must survive a crash.
        # A refusal goes onto the modal's field (slack/errors.py).
        opened = await services.incidents.open(severity=severity, title=title, user_id=user)
        await ack()
        text = declare_reply(await services.incidents.set_up(opened))
        # A modal has no response_url: tell the declarer by DM.
        await client.chat_postMessage(channel=user, text=text)


def _checked(view: dict[str, Any], field: Field) -> bool:
    values = view.get("state", {}).get("values", {})
    state = values.get(field.value, {}).get(field.value, {}) if isinstance(values, dict) else {}
    return bool(state.get("selected_options")) if isinstance(state, dict) else False


def _incident_id(view: dict[str, Any]) -> int | None:
    meta = view.get("private_metadata")
    return int(meta) if isinstance(meta, str) and meta.isdigit() else None


def register_controls(app: AsyncApp, services: Services) -> None:
    """Submissions of the commander's modals. A refusal before the ack goes back onto the
    modal's field; after it (e.g. someone resolved meanwhile) by DM (slack/errors.py)."""

    async def submit(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        user = body["user"]["id"]
        callback = view.get("callback_id")
        incident_id = _incident_id(view)
        incident = await services.store.get(incident_id) if incident_id else None
        if incident is None:
            raise IncidentError("That incident is gone.")
        c = services.controls
        if callback == View.UPDATE.value:
            text = _value(view, Field.TEXT)
            if not text:
                raise MissingText("Say what changed.", field=Field.TEXT)
            await c.check(incident, user, "update")
            status = _value(view, Field.STATUS) or incident.status
            publish = _checked(view, Field.PUBLISH)
            if publish and not await services.publisher.may(incident, user):
                raise NotAllowed("You may not publish this incident.", field=Field.PUBLISH)
            await ack()
            await c.update(incident, user, text, status)
            if publish:
                public = _value(view, Field.PUBLIC_TEXT) or await services.publisher.draft(
                    incident, status, text
                )
                await services.publisher.publish(incident, user, public, status)
        elif callback == View.SEVERITY.value:
            await c.check(incident, user, "severity")
            sev = _value(view, Field.SEVERITY)
            pol = await services.policy.of(incident)
            if pol.severity(sev) is None or sev == incident.severity:
                raise UnknownSeverity(f"Pick a severity other than {incident.severity}.")
            await ack()
            await c.set_severity(incident, user, sev)
        elif callback == View.RESOLVE.value:
            summary = _value(view, Field.SUMMARY)
            if not summary:
                raise MissingText(
                    "Say what fixed it: the summary goes in the postmortem.", field=Field.SUMMARY
                )
            await c.check(incident, user, "resolve")
            await ack()
            await c.resolve(incident, user, summary)
        else:
            choice = _value(view, Field.DURATION)
            duration = next((d for d in SNOOZE_CHOICES if format_duration(d) == choice), None)
            if duration is None:
                raise IncidentError("Pick 15m, 30m or 1h.", field=Field.DURATION)
            await c.check(incident, user, "update")
            await ack()
            await c.snooze(incident, user, duration)

    for v in (View.UPDATE, View.SEVERITY, View.RESOLVE, View.SNOOZE):
        app.view(v.value)(submit)
