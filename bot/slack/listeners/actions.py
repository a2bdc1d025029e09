"""Buttons on the pinned announcement and on reminders. The clicker is Slack's payload
user, never anything in the button's value (which only names the incident)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.incidents.controls import SNOOZE_CHOICES
from bot.incidents.errors import IncidentError, NothingToDo
from bot.policy.model import Action as PolicyAction
from bot.services import Services
from bot.slack.ids import Action
from bot.slack.modals import resolve_modal, severity_modal, snooze_modal, update_modal
from bot.store.tables import Incident

log = logging.getLogger(__name__)

# Which permission a button needs before its modal opens (checked again on submit).
NEEDS: dict[Action, PolicyAction] = {
    Action.POST_UPDATE: "update",
    Action.CHANGE_SEVERITY: "severity",
    Action.RESOLVE: "resolve",
    Action.SNOOZE: "update",
    Action.ESCALATE: "escalate",
}


async def incident_of(services: Services, body: dict[str, Any]) -> Incident | None:
    actions = body.get("actions") or [{}]
    value = str(actions[0].get("value") or "")
    return await services.store.get(int(value)) if value.isdigit() else None


def register(app: AsyncApp, services: Services) -> None:
    async def on_button(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        action = Action(body["actions"][0]["action_id"])
        user = body["user"]["id"]
        incident = await incident_of(services, body)
        if incident is None:
            raise IncidentError("That incident no longer exists.")
        # Refusals go back as ephemeral messages through slack/errors.py.
        c = services.controls
        await c.check(incident, user, NEEDS[action])
        if action is Action.ESCALATE:
            level = await c.escalate(incident, user, "escalate button")
            await respond(
                response_type="ephemeral",
                replace_original=False,
                text=f"Escalated {incident.number} to {level}.",
            )
            return
        pol = await services.policy.of(incident)  # the policy it started with
        if action is Action.CHANGE_SEVERITY and len(pol.severities) < 2:
            raise NothingToDo(f"The policy has no severity other than {incident.severity}.")
        draft = None
        if action is Action.POST_UPDATE and await services.publisher.may(incident, user):
            draft = await services.publisher.draft(incident, incident.status, "")
        view = {
            Action.POST_UPDATE: lambda: update_modal(pol, incident, draft),
            Action.CHANGE_SEVERITY: lambda: severity_modal(pol, incident),
            Action.RESOLVE: lambda: resolve_modal(incident),
            Action.SNOOZE: lambda: snooze_modal(incident, SNOOZE_CHOICES),
        }[action]()
        await client.views_open(trigger_id=body["trigger_id"], view=view)

    for action in NEEDS:
        app.action(action.value)(on_button)
