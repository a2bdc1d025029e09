"""The values an incident offers to policy templates ({title}, {severity}, ...)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.policy.durations import format_duration
from bot.policy.model import Policy
from bot.store.tables import Incident


class Refs(Protocol):
    def user_ref(self, user_id: str) -> str: ...

    def channel_ref(self, channel: str) -> str: ...

    def literal(self, text: str) -> str: ...


def fmt_time(when: datetime | None, tz: str) -> str:
    if when is None:
        return "-"
    return when.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M %Z")


def incident_values(
    policy: Policy, incident: Incident, refs: Refs, roles: Mapping[str, Sequence[str]]
) -> dict[str, str]:
    """`roles`: each role's holders; a role of several shows as a list (`@a, @b`)."""
    sev = policy.severity(incident.severity)
    cadence = sev.update_every if sev else None
    last = incident.last_update_at or incident.declared_at
    next_update = fmt_time(last + cadence, policy.timezone) if cadence else "as needed"
    end = incident.resolved_at
    duration = format_duration(end - incident.declared_at) if end else "-"
    people = [incident.commander_id, *(u for held in roles.values() for u in held)]
    values = {
        "number": incident.number,
        "title": refs.literal(incident.title),
        "severity": incident.severity,
        "severity_label": sev.label if sev else incident.severity,
        "status": incident.status.capitalize(),
        "commander": refs.user_ref(incident.commander_id),
        "declared_by": refs.user_ref(incident.declared_by),
        "started_at": fmt_time(incident.declared_at, policy.timezone),
        "next_update_at": next_update,
        "channel": refs.channel_ref(incident.channel_id) if incident.channel_id else "-",
        "impact": sev.impact if sev and sev.impact else "-",
        "checklist": "\n".join(f"• {s}" for s in sev.checklist) if sev else "",
        "summary": refs.literal(incident.summary) if incident.summary else "-",
        "duration": duration,
        "participants": ", ".join(refs.user_ref(u) for u in dict.fromkeys(people)),
        "company": policy.name,
        "response_time": _dur(sev.response_time if sev else None, "-"),
        "update_every": _dur(cadence, "as needed"),
        "resolve_within": _dur(sev.resolve_within if sev else None, "-"),
        "date": incident.declared_at.astimezone(ZoneInfo(policy.timezone)).strftime("%Y-%m-%d"),
        "last_update_at": fmt_time(incident.last_update_at, policy.timezone),
        "resolved_at": fmt_time(incident.resolved_at, policy.timezone),
        "url": refs.channel_ref(incident.channel_id) if incident.channel_id else "-",
        "roles": "\n".join(f"{r}: {mentions(refs, u)}" for r, u in roles.items() if u) or "-",
    }
    for role, held in roles.items():
        values[f"role_{role}"] = mentions(refs, held)
    return values


def mentions(refs: Refs, users: Sequence[str]) -> str:
    """A list placeholder: `@a, @b` (empty when nobody: the template shows "-")."""
    return ", ".join(refs.user_ref(u) for u in users)


def _dur(value: timedelta | None, none: str) -> str:
    return format_duration(value) if value else none


def age(since: datetime, now: datetime) -> str:
    minutes = int((now - since) / timedelta(minutes=1))
    if minutes < 60:
        return f"{minutes}m"
    if minutes < 48 * 60:
        return f"{minutes // 60}h{minutes % 60:02d}m"
    return f"{minutes // (24 * 60)}d"
