"""Paging services beside the Slack page: a level whose targets name a PagerDuty or
Opsgenie contact triggers an alert there when paged, acknowledges it when the page is
acknowledged in Slack, and resolves (closes) it when the incident is resolved.

Each is an outbox row written in the transaction of the change, keyed by incident,
level and action: one trigger per incident and level, however often the level is paged
again or the step is re-run after a crash. The service's own dedup key (PagerDuty's
dedup_key, Opsgenie's alias) is the same per incident and level, so a delivery tried
again after a crash, whose first try did reach the service, is one alert there too.
The rows of one alert share a lane: trigger, acknowledge and resolve go in that order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Literal

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.incidents.outbox import Op, Outbox, rank
from bot.policy.model import Policy
from bot.store.tables import Incident

Action = Literal["trigger", "acknowledge", "resolve"]
REPORT = "Paging problems"


def dedup_key(policy: Policy, incident: Incident, level: int) -> str:
    """One per incident and level (and organisation, should two bots share a service)."""
    org = re.sub(r"[^a-z0-9]+", "-", policy.name.lower()).strip("-") or "incident-bot"
    return f"{org}-inc-{incident.id}-level-{level + 1}"


def service_keys(policy: Policy, level: int) -> list[str]:
    """The paging-service contacts among a level's targets."""
    levels = policy.escalation.levels
    if level >= len(levels):
        return []
    contacts = policy.contacts
    return [k for k in levels[level].targets if contacts[k].pagerduty or contacts[k].opsgenie]


class Alerts:
    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    async def send(
        self,
        s: AsyncSession,
        policy: Policy,
        incident: Incident,
        levels: Iterable[int],
        action: Action,
    ) -> None:
        """Write `action` for every paging-service target of `levels`, in the caller's
        transaction."""
        for level in levels:
            for key in service_keys(policy, level):
                await self._row(s, policy, incident, level, key, action)

    async def _row(
        self,
        s: AsyncSession,
        policy: Policy,
        incident: Incident,
        level: int,
        key: str,
        action: Action,
    ) -> None:
        contact = policy.contacts[key]
        dedup = dedup_key(policy, incident, level)
        name = policy.escalation.levels[level].name
        # A private incident's title stays inside it: the pager only learns one is open.
        what = "a private incident" if incident.private else incident.title
        payload: dict[str, Any] = {
            "contact": key,
            "action": action,
            "dedup_key": dedup,
            "summary": f"{incident.number} ({incident.severity}) {what}: {name}"[:1024],
            "details": {
                "incident": incident.number,
                "severity": incident.severity,
                "level": name,
                "slack_channel": incident.channel_id,
            },
        }
        if contact.pagerduty is not None:
            op = Op.PAGERDUTY
            payload.update(
                env=contact.pagerduty.routing_key_env, severity=contact.pagerduty.severity
            )
        else:
            assert contact.opsgenie is not None
            op = Op.OPSGENIE
            payload.update(env=contact.opsgenie.api_key_env, priority=contact.opsgenie.priority)
        if action == "trigger":  # a pager not reached is told in the channel
            service = "PagerDuty" if op is Op.PAGERDUTY else "Opsgenie"
            payload.update(
                report=REPORT,
                problem=f"the pager was not reached ({service} `{key}`); page by phone",
            )
        await self.outbox.alert(
            s,
            op,
            f"{op.value}:{key}:{dedup}",
            payload,
            key=f"alert:{key}:{dedup}:{action}",
            incident_id=incident.id,
            priority=rank(policy, incident),
        )
