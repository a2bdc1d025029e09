"""What the postmortem and the export say of the follow-through and the action items:
each step with its deadline and whether it is done, each item with its owner, due
date, state and tracker issue."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.incidents.action_items import tracker_words
from bot.incidents.follow_through import steps_for
from bot.incidents.values import fmt_time
from bot.policy.durations import format_duration
from bot.policy.model import Policy
from bot.store import follow_ups
from bot.store.repo import Store
from bot.store.tables import Incident

Name = Callable[[str], str]


async def follow_lines(store: Store, policy: Policy, incident: Incident) -> list[str]:
    """One line a step: "Schedule the review: due 2026-03-15 09:40 UTC, done"."""
    async with store.session() as s:
        rows = {r.step: r for r in await follow_ups.follow_ups_of(s, incident.id)}
    lines = []
    for _, step in steps_for(policy, incident):
        row = rows.get(step.name)
        if incident.resolved_at is None:
            when = f"due {format_duration(step.within)} after resolution"
        else:
            when = f"due {fmt_time(incident.resolved_at + step.within, policy.timezone)}"
        state = "done" if row is not None and row.done_at is not None else "open"
        lines.append(f"{step.label}: {when}, {state}")
    return lines


async def item_rows(store: Store, policy: Policy, incident: Incident, name: Name) -> list[str]:
    """The action items as a Markdown table's rows (with its header)."""
    async with store.session() as s:
        items = await follow_ups.items_of(s, incident.id)
    if not items:
        return []
    rows = ["| # | Action item | Owner | Due | State | Tracker |", "|---|---|---|---|---|---|"]
    for i in items:
        cells = [
            i.number,
            i.text,
            name(i.owner_id) if i.owner_id else "-",
            fmt_time(i.due_at, policy.timezone) if i.due_at else "-",
            "done" if i.done_at else "open",
            tracker_words(i) or "-",
        ]
        rows.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return rows


async def owners(store: Store, incident: Incident) -> list[str]:
    async with store.session() as s:
        return [i.owner_id for i in await follow_ups.items_of(s, incident.id) if i.owner_id]


async def export_part(store: Store, incident: Incident) -> dict[str, Any]:
    async with store.session() as s:
        items = await follow_ups.items_of(s, incident.id)
        steps = await follow_ups.follow_ups_of(s, incident.id)
    return {
        "action_items": [
            i.model_dump(mode="json")
            | {"number": i.number, "state": "done" if i.done_at else "open"}
            for i in items
        ],
        "follow_through": [r.model_dump(mode="json", exclude={"id"}) for r in steps],
    }
