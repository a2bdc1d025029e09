"""What an incident adds up to: its metrics, the readable timeline, the postmortem
draft and the export. Shared by `/incident timeline|postmortem`, `list` and `export`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.incidents.access import Access
from bot.incidents.chat import Chat
from bot.incidents.errors import NotAllowed
from bot.incidents.timeline import Timeline, TimelineKind, is_key, kind_of
from bot.incidents.values import Refs, incident_values
from bot.policy.durations import format_duration
from bot.policy.model import Policy
from bot.policy.templates import render
from bot.store import jobs
from bot.store.repo import Store
from bot.store.tables import Incident, TimelineEntry


@dataclass(frozen=True)
class Metrics:
    to_acknowledge: timedelta | None
    to_first_update: timedelta | None
    to_resolve: timedelta | None
    response_target: timedelta | None
    update_target: timedelta | None
    resolve_target: timedelta | None

    def lines(self) -> list[str]:
        def show(value: timedelta | None, target: timedelta | None) -> str:
            got = format_duration(value) if value is not None else "not yet"
            if target is None:
                return got
            verdict = "" if value is None else (" ✓" if value <= target else " ✗ over")
            return f"{got} (target {format_duration(target)}{verdict})"

        return [
            f"Time to acknowledge: {show(self.to_acknowledge, self.response_target)}",
            f"Time to first update: {show(self.to_first_update, self.update_target)}",
            f"Time to resolve: {show(self.to_resolve, self.resolve_target)}",
        ]

    def as_dict(self) -> dict[str, int | None]:
        def secs(v: timedelta | None) -> int | None:
            return None if v is None else int(v.total_seconds())

        return {
            "to_acknowledge_s": secs(self.to_acknowledge),
            "to_first_update_s": secs(self.to_first_update),
            "to_resolve_s": secs(self.to_resolve),
            "response_target_s": secs(self.response_target),
            "update_target_s": secs(self.update_target),
            "resolve_target_s": secs(self.resolve_target),
        }


class Reports:
    def __init__(
        self, store: Store, timeline: Timeline, refs: Refs, access: Access | None = None
    ) -> None:
        self.store = store
        self.timeline = timeline
        self.refs = refs
        self.access = access

    async def metrics(self, incident: Incident, policy: Policy) -> Metrics:
        start = incident.declared_at
        async with self.store.session() as s:
            acks = [p.acked_at for p in await jobs.pages_of(s, incident.id) if p.acked_at]
        updates = await self.store.entry_times(incident.id, TimelineKind.UPDATE)
        acked = min(
            [*acks, *([incident.acknowledged_at] if incident.acknowledged_at else [])], default=None
        )
        sev = policy.severity(incident.severity)
        return Metrics(
            to_acknowledge=acked - start if acked else None,
            to_first_update=min(updates) - start if updates else None,
            to_resolve=incident.resolved_at - start if incident.resolved_at else None,
            response_target=sev.response_time if sev else None,
            update_target=sev.update_every if sev else None,
            resolve_target=sev.resolve_within if sev else None,
        )

    async def key_entries(self, incident: Incident) -> list[TimelineEntry]:
        """Key events and the bot's typed entries, in the order things happened."""
        return [e for e in await self.timeline.entries(incident.id) if is_key(e)]

    def cells(self, e: TimelineEntry, tz: str, with_date: bool) -> tuple[str, str]:
        """(when, what) of one entry: the time in the policy's zone, then who did what."""
        when = e.occurred_at.astimezone(ZoneInfo(tz))
        stamp = when.strftime("%Y-%m-%d %H:%M" if with_date else "%H:%M")
        who = f" {self.refs.user_ref(e.author_id)}" if e.author_id else ""
        label = kind_of(e).label
        text = " ".join(e.text.split())
        deleted = " (deleted)" if (e.data or {}).get("deleted") else ""
        return stamp, f"{label}{who}: {text}{deleted}"

    def line(self, e: TimelineEntry, tz: str, with_date: bool) -> str:
        return " · ".join(self.cells(e, tz, with_date))

    async def timeline_lines(self, incident: Incident, policy: Policy) -> list[str]:
        entries = await self.key_entries(incident)
        return [
            self.line(e, policy.timezone, spans_days(entries, policy.timezone)) for e in entries
        ]

    async def postmortem(self, incident: Incident, policy: Policy, now: datetime) -> str:
        entries = await self.key_entries(incident)
        with_date = spans_days(entries, policy.timezone)
        rows = ["| Time | Event |", "|---|---|"]
        for e in entries:
            stamp, what = self.cells(e, policy.timezone, with_date)
            rows.append(f"| {stamp} | {what.replace('|', '/')} |")
        roles = await self.store.roles(incident.id)
        values = incident_values(policy, incident, self.refs, roles)
        people = {
            incident.commander_id,
            *(u for held in roles.values() for u in held),
            *(e.author_id for e in entries if e.author_id and e.author_id[0] in "UW"),
        }
        values["participants"] = ", ".join(self.refs.user_ref(u) for u in sorted(people))
        values["timeline"] = "\n".join(rows)
        if incident.resolved_at is None:
            values["duration"] = format_duration(now - incident.declared_at) + " so far"
        metrics = await self.metrics(incident, policy)
        text = render(policy.templates.postmortem, values)
        return text + "\n\n## Response metrics\n\n" + "\n".join(f"- {m}" for m in metrics.lines())

    async def export(
        self, incident: Incident, policy: Policy, viewer: str | None = None
    ) -> dict[str, Any]:
        """Everything about the incident. `viewer` is who asks, refused a private incident
        they may not see; None is the operator (the `export` command), who sees them all."""
        if viewer is not None and (
            self.access is None or not await self.access.can_see(incident, viewer)
        ):
            raise NotAllowed(
                f"{incident.number} is private: only the people in it (its channel's members, "
                "commander and role holders) can export it."
            )
        entries = await self.timeline.entries(incident.id)
        return {
            "incident": incident.model_dump(mode="json", exclude={"channel_name"})
            | {"number": incident.number, "channel_name": incident.channel_name},
            "metrics": (await self.metrics(incident, policy)).as_dict(),
            "roles": await self.store.roles(incident.id),
            "timeline": [
                {
                    "at": e.occurred_at.isoformat(),
                    "kind": e.kind,
                    "author": e.author_id,
                    "text": e.text,
                    "ts": e.ts,
                    "key_event": is_key(e),
                    **({"data": e.data} if e.data else {}),
                }
                for e in entries
            ],
        }


# An ephemeral reply is one message: keep well inside 50 blocks of 3,000 characters.
MAX_INLINE = 12_000


async def deliver(
    reports: Reports, chat: Chat, incident: Incident, policy: Policy, what: str, now: datetime
) -> str:
    """`/incident timeline|postmortem`: the text to answer with; long things (and the
    postmortem, which people edit) are shared in the channel as a file."""
    assert incident.channel_id is not None
    if what == "timeline":
        lines = await reports.timeline_lines(incident, policy)
        text = f"*Timeline of {incident.number}* ({len(lines)} entries)\n" + "\n".join(lines)
        if len(text) <= MAX_INLINE:
            return text
        body, filename, title = "\n".join(lines), f"timeline-{incident.number}.txt", "Timeline"
    else:
        body = await reports.postmortem(incident, policy, now)
        filename, title = f"postmortem-{incident.number}.md", "Postmortem draft"
    await chat.upload(incident.channel_id, filename, body, f"{title}: {incident.number}")
    return f"{title} of {incident.number} shared in the channel as `{filename}`."


def spans_days(entries: list[TimelineEntry], tz: str) -> bool:
    zone = ZoneInfo(tz)
    return len({e.occurred_at.astimezone(zone).date() for e in entries}) > 1
