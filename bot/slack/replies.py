"""Turning use-case results into Slack replies (text and blocks)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.incidents.setup import DeclareOutcome
from bot.incidents.values import age
from bot.policy.durations import format_duration
from bot.services import Services
from bot.slack import mrkdwn
from bot.slack.blocks import section
from bot.store.tables import Incident


def declare_reply(outcome: DeclareOutcome) -> str:
    inc = outcome.incident
    if outcome.pending:
        return f"{inc.number} declared: *{mrkdwn.escape(inc.title)}* ({inc.severity}). " + (
            outcome.pending
        )
    where = mrkdwn.channel(inc.channel_id) if inc.channel_id else "(no channel)"
    text = f"{inc.number} declared: *{mrkdwn.escape(inc.title)}* ({inc.severity}) in {where}."
    if inc.drill:
        text += (
            " It is a drill: its pages and DMs come to you only, saying who they were for,"
            " and nothing is announced or published."
        )
    if outcome.problems:
        text += "\nSome setup steps failed:\n" + "\n".join(f"• {p}" for p in outcome.problems)
    return text


async def incident_list(incidents: Sequence[Incident], services: Services) -> dict[str, Any]:
    if not incidents:
        return {"text": "No open incidents. Declare one with `/incident <severity> <title>`."}
    now = services.clock.now()
    lines = []
    for i in incidents[:40]:
        m = await services.reports.metrics(i, await services.policy.of(i))
        ack = (
            f"acked in {format_duration(m.to_acknowledge)}"
            if m.to_acknowledge is not None
            else "not acked"
        )
        first = (
            f"first update after {format_duration(m.to_first_update)}"
            if m.to_first_update is not None
            else "no update yet"
        )
        lines.append(
            f"*{i.number}*{' (drill)' if i.drill else ''} {i.severity} · "
            f"{i.status.capitalize()} · "
            + (mrkdwn.channel(i.channel_id) if i.channel_id else "no channel")
            + f" · {mrkdwn.escape(i.title)} · commander {mrkdwn.user(i.commander_id)} · "
            f"{age(i.declared_at, now)} old · {ack} · {first}"
        )
    text = f"{len(incidents)} open incident(s), newest first:\n" + "\n".join(lines)
    return {"text": text[:3000], "blocks": section(text)[:50]}
