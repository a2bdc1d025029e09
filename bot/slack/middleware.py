"""Resolves, once per request, the incident a request is about and the policy version it
started with, before any listener runs: an in-incident command (by its channel), a
control's button (the incident id in its value) or a control's modal (the id in its
private_metadata). Listeners read them with `scope_of(context)`; an in-incident command
is parsed with the incident's own policy, so an incident declared under one version of
the policy keeps its severity, status and role names after the policy changes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.incidents.errors import IncidentError
from bot.policy.model import Policy
from bot.services import Services
from bot.slack.command import verb_of
from bot.slack.controls import BY_ACTION, BY_VIEW, Asked, Control
from bot.slack.ids import Payload
from bot.store.tables import Incident

SCOPE = "incident_scope"


@dataclass(frozen=True)
class Scope:
    incident: Incident
    policy: Policy  # the version the incident started with


def scope_of(context: AsyncBoltContext) -> Scope | None:
    found = context.get(SCOPE)
    return found if isinstance(found, Scope) else None


def asked(
    services: Services,
    client: AsyncWebClient,
    context: AsyncBoltContext,
    control: Control,
    user: str,
    *,
    gone: str,
) -> Asked:
    """A control's request with its incident and that incident's policy (the current
    policy for Declare); IncidentError(`gone`) when its incident no longer exists."""
    scope = scope_of(context)
    if scope is None:
        if control.on_incident:
            raise IncidentError(gone)
        return Asked(services, client, control, user, None, services.policy.policy)
    return Asked(services, client, control, user, scope.incident, scope.policy)


def _incident_id(body: dict[str, Any]) -> int | None:
    """The incident a control's button or modal names, if the request is one."""
    kind = body.get("type")
    if kind == Payload.BLOCK_ACTIONS:
        action = (body.get("actions") or [{}])[0]
        control = BY_ACTION.get(str(action.get("action_id")))
        value = str(action.get("value") or "")
    elif kind == Payload.VIEW_SUBMISSION:
        view = body.get("view") or {}
        control = BY_VIEW.get(str(view.get("callback_id")))
        value = str(view.get("private_metadata") or "")
    else:
        return None
    value = value.split(":", 1)[0]  # a button about a part of it: "<incident>:<subject>"
    return int(value) if control is not None and control.on_incident and value.isdigit() else None


def register(app: AsyncApp, services: Services) -> None:
    async def resolve_incident(
        context: AsyncBoltContext, body: dict[str, Any], next: Callable[[], Awaitable[None]]
    ) -> None:
        incident: Incident | None = None
        if body.get("command"):
            verb = verb_of(str(body.get("text") or ""))
            if verb is not None and verb.in_incident:
                # None outside an incident channel: the listener says so, once the text
                # has parsed (a mistake in it is the first thing to tell).
                incident = await services.store.by_channel(str(body.get("channel_id") or ""))
        elif (incident_id := _incident_id(body)) is not None:
            incident = await services.store.get(incident_id)
        if incident is not None:
            context[SCOPE] = Scope(incident, await services.policy.of(incident))
        await next()

    app.middleware(resolve_incident)
