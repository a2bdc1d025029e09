"""The App Home: open incidents (severity, status, commander, age, next update due),
recently resolved ones, and a Declare button. Private incidents only for those who may
see them (bot/incidents/access.py, the rule `/incident list` follows too)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.incidents.access import Board
from bot.incidents.values import age, fmt_time
from bot.policy.model import Policy
from bot.slack import mrkdwn
from bot.slack.blocks import MAX_BLOCKS_VIEW, Block, button, header, section
from bot.slack.controls import BY_ACTION
from bot.slack.ids import HOME_TAB, Action, BlockId
from bot.store.tables import Incident

RECENT = timedelta(days=7)
SHOWN = 20


def home_view(
    board: Board,
    policy: Policy,
    now: datetime,
    after: Sequence[Block] = (),
    *,
    on_call: Sequence[str] = (),
) -> dict[str, Any]:
    """The view of `board` (Access.board: only what its viewer may see, since `now - RECENT`);
    `after`: the viewer's follow-through and action items (slack/after_replies.py);
    `on_call`: who is on call and the overrides (bot/slack/oncall_replies.py)."""
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
    blocks += section(f"*Open ({len(board.open)})*")
    if not board.open:
        blocks += section("No open incidents.")
    for i in board.open[:SHOWN]:
        due = board.next_nag.get(i.id)
        next_update = fmt_time(due, policy.timezone) if due else "no reminder due"
        blocks += section(
            f"*{i.number}*{' (drill)' if i.drill else ''} {i.severity} · "
            f"{i.status.capitalize()} · {_where(i)}\n"
            f"{mrkdwn.escape(i.title)}\nCommander {mrkdwn.user(i.commander_id)}"
            f" · {age(i.declared_at, now)} old"
            f" · next update due {next_update}"
        )
    blocks += [{"type": "divider"}]
    blocks += section(f"*Resolved in the last {RECENT.days} days ({len(board.resolved)})*")
    for i in board.resolved[:SHOWN]:
        assert i.resolved_at is not None
        blocks += section(
            f"*{i.number}* {i.severity} · {mrkdwn.escape(i.title)} · resolved "
            f"{fmt_time(i.resolved_at, policy.timezone)} after {age(i.declared_at, i.resolved_at)}"
        )
    if on_call:
        blocks += [{"type": "divider"}, *section("*On call*\n" + "\n".join(on_call))]
    blocks += after
    return {"type": HOME_TAB, "blocks": _fit(blocks)}


def _where(i: Incident) -> str:
    return mrkdwn.channel(i.channel_id) if i.channel_id else "no channel"


def _fit(blocks: Sequence[Block]) -> list[Block]:
    if len(blocks) <= MAX_BLOCKS_VIEW:
        return list(blocks)
    return [*blocks[: MAX_BLOCKS_VIEW - 1], *section("_…more in `/incident list`_")]
