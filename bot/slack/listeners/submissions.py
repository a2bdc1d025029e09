"""Modal submissions."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.incidents.controls import SNOOZE_CHOICES
from bot.incidents.errors import IncidentError
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
        try:
            opened = await services.incidents.open(severity=severity, title=title, user_id=user)
        except IncidentError as e:
            await ack(response_action="errors", errors={Field.TITLE.value: str(e)})
            return
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
    """Submissions of the commander's modals: errors go back onto the modal's fields."""

    async def submit(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        user = body["user"]["id"]
        callback = view.get("callback_id")
        field = {
            View.UPDATE.value: Field.TEXT,
            View.SEVERITY.value: Field.SEVERITY,
            View.RESOLVE.value: Field.SUMMARY,
            View.SNOOZE.value: Field.DURATION,
        }[str(callback)]
        incident_id = _incident_id(view)
        incident = await services.store.get(incident_id) if incident_id else None
        if incident is None:
            await ack(response_action="errors", errors={field.value: "That incident is gone."})
            return
        c = services.controls
        acked = False

        async def close() -> None:
            nonlocal acked
            await ack()
            acked = True

        try:
            if callback == View.UPDATE.value:
                text = _value(view, Field.TEXT)
                if not text:
                    raise IncidentError("Say what changed.")
                await c.check(incident, user, "update")
                status = _value(view, Field.STATUS) or incident.status
                publish = _checked(view, Field.PUBLISH)
                if publish and not await services.publisher.may(incident, user):
                    field = Field.PUBLISH
                    raise IncidentError("You may not publish this incident.")
                await close()
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
                    raise IncidentError(f"Pick a severity other than {incident.severity}.")
                await close()
                await c.set_severity(incident, user, sev)
            elif callback == View.RESOLVE.value:
                summary = _value(view, Field.SUMMARY)
                if not summary:
                    raise IncidentError("Say what fixed it: the summary goes in the postmortem.")
                await c.check(incident, user, "resolve")
                await close()
                await c.resolve(incident, user, summary)
            else:
                choice = _value(view, Field.DURATION)
                duration = next((d for d in SNOOZE_CHOICES if format_duration(d) == choice), None)
                if duration is None:
                    raise IncidentError("Pick 15m, 30m or 1h.")
                await c.check(incident, user, "update")
                await close()
                await c.snooze(incident, user, duration)
        except IncidentError as e:
            if not acked:
                await ack(response_action="errors", errors={field.value: str(e)[:150]})
                return
            # The modal is closed already (e.g. someone resolved meanwhile): tell by DM.
            await client.chat_postMessage(channel=user, text=str(e))

    for v in (View.UPDATE, View.SEVERITY, View.RESOLVE, View.SNOOZE):
        app.view(v.value)(submit)
