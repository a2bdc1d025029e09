"""The App Home: open incidents (severity, status, commander, age, next update due),
recently resolved ones, and a Declare button. Private incidents only for those in them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from bot.incidents.values import age, fmt_time
from bot.policy.model import Policy
from bot.slack import mrkdwn
from bot.slack.blocks import MAX_BLOCKS_VIEW, Block, button, header, section
from bot.slack.controls import BY_ACTION
from bot.slack.ids import HOME_TAB, Action, BlockId
from bot.store.repo import Store
from bot.store.tables import DueJob, Incident, Participant

RECENT = timedelta(days=7)
SHOWN = 20


async def home_view(store: Store, policy: Policy, viewer: str, now: datetime) -> dict[str, Any]:
    async with store.session() as s:
        open_ = (
            await s.exec(
                select(Incident)
                .where(col(Incident.resolved_at).is_(None))
                .order_by(col(Incident.declared_at).desc())
                .limit(200)
            )
        ).all()
        resolved = (
            await s.exec(
                select(Incident)
                .where(col(Incident.resolved_at) >= now - RECENT)
                .order_by(col(Incident.resolved_at).desc())
                .limit(50)
            )
        ).all()
        mine = set(
            (
                await s.exec(select(Participant.incident_id).where(Participant.user_id == viewer))
            ).all()
        )
        nags = dict(
            (
                await s.exec(
                    select(DueJob.incident_id, func.min(DueJob.due_at))
                    .where(DueJob.kind == "nag", DueJob.state == "pending")
                    .group_by(col(DueJob.incident_id))
                )
            ).all()
        )

    def visible(i: Incident) -> bool:
        return not i.private or viewer in {i.commander_id, i.declared_by} or i.id in mine

    declare = BY_ACTION[Action.DECLARE]
    blocks: list[Block] = [
        header("Incidents"),
        {
            "type": "actions",
            "block_id": BlockId.HOME_ACTIONS.value,
            "elements": [button(declare.id, declare.label, "home", declare.style)],
        },
        {"type": "divider"},
    ]
    shown_open = [i for i in open_ if visible(i)]
    blocks += section(f"*Open ({len(shown_open)})*")
    if not shown_open:
        blocks += section("No open incidents.")
    for i in shown_open[:SHOWN]:
        due = nags.get(i.id or 0)
        next_update = fmt_time(due, policy.timezone) if due else "no reminder due"
        blocks += section(
            f"*{i.number}* {i.severity} · {i.status.capitalize()} · {_where(i)}\n"
            f"{mrkdwn.escape(i.title)}\nCommander {mrkdwn.user(i.commander_id)}"
            f" · {age(i.declared_at, now)} old"
            f" · next update due {next_update}"
        )
    blocks += [{"type": "divider"}]
    recent = [i for i in resolved if visible(i)]
    blocks += section(f"*Resolved in the last {RECENT.days} days ({len(recent)})*")
    for i in recent[:SHOWN]:
        assert i.resolved_at is not None
        blocks += section(
            f"*{i.number}* {i.severity} · {mrkdwn.escape(i.title)} · resolved "
            f"{fmt_time(i.resolved_at, policy.timezone)} after {age(i.declared_at, i.resolved_at)}"
        )
    return {"type": HOME_TAB, "blocks": _fit(blocks)}


def _where(i: Incident) -> str:
    return mrkdwn.channel(i.channel_id) if i.channel_id else "no channel"


def _fit(blocks: Sequence[Block]) -> list[Block]:
    if len(blocks) <= MAX_BLOCKS_VIEW:
        return list(blocks)
    return [*blocks[: MAX_BLOCKS_VIEW - 1], *section("_…more in `/incident list`_")]
