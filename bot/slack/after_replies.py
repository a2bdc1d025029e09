"""After the incident, in Slack: `/incident actions` (each open item with a Done
button), the postmortem reply's "Add action item" button, and the App Home's part
(the viewer's follow-through steps still owed and their open action items)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.incidents.follow_through import owed
from bot.incidents.values import fmt_time
from bot.services import Services
from bot.slack.blocks import Block, button, header, section
from bot.slack.controls import BY_ACTION
from bot.slack.ids import Action
from bot.store import follow_ups
from bot.store.tables import Incident

SHOWN = 10


def _buttons(block_id: str, *elements: Block) -> Block:
    return {"type": "actions", "block_id": block_id, "elements": list(elements)}


def _control(action: Action, value: str) -> Block:
    c = BY_ACTION[action]
    return button(c.id, c.label, value, c.style)


async def actions_reply(services: Services, incident: Incident) -> dict[str, Any]:
    items = await services.action_items.items(incident)
    tz = (await services.policy.of(incident)).timezone
    add = _buttons("action_items_add", _control(Action.ADD_ACTION, str(incident.id)))
    if not items:
        text = (
            f"{incident.number} has no action items yet. Add one with "
            "`/incident action <text> [@owner] [due <when>]`."
        )
        return {"text": text, "blocks": [*section(text), add]}
    lines = [services.action_items.describe(i, tz) for i in items]
    text = f"*Action items of {incident.number}*\n" + "\n".join(f"• {line}" for line in lines)
    blocks: list[Block] = [*section(f"*Action items of {incident.number}* ({len(items)})")]
    for item, line in zip(items, lines, strict=True):
        block = section(line)[0]
        if item.done_at is None:
            block["accessory"] = _control(Action.ACTION_DONE, f"{incident.id}:{item.id}")
        blocks.append(block)
    blocks.append(add)
    return {"text": text[:3000], "blocks": blocks[:50]}


def postmortem_blocks(text: str, incident: Incident) -> list[Block]:
    """The postmortem reply, with the button that records an action item."""
    return [
        *section(text),
        _buttons("postmortem_actions", _control(Action.ADD_ACTION, str(incident.id))),
    ]


async def home_blocks(services: Services, user: str, now: datetime) -> list[Block]:
    """The viewer's follow-through (as commander of a resolved incident) and action items."""
    blocks: list[Block] = []
    tz = services.policy.policy.timezone
    steps = []
    for incident, rows in await follow_ups.steps_owed_by(services.store, user):
        pol = await services.policy.of(incident)
        steps += owed(pol, incident, list(rows))
    steps.sort(key=lambda o: o.due_at)
    if steps:
        blocks += [{"type": "divider"}, header("Follow-through")]
        for o in steps[:SHOWN]:
            late = " · *overdue*" if o.due_at <= now else ""
            block = section(
                f"*{o.incident.number}* {o.step.label} · due {fmt_time(o.due_at, tz)}{late}"
            )[0]
            block["accessory"] = _control(Action.FOLLOW_DONE, f"{o.incident.id}:{o.step.name}")
            blocks.append(block)
    mine = await follow_ups.open_items_owned_by(services.store, user)
    blocks += [{"type": "divider"}, header(f"My action items ({len(mine)})")]
    if not mine:
        blocks += section("No open action items.")
    for item, incident in mine[:SHOWN]:
        line = f"{incident.number} · " + services.action_items.describe(item, tz)
        block = section(line)[0]
        block["accessory"] = _control(Action.ACTION_DONE, f"{incident.id}:{item.id}")
        blocks.append(block)
    return blocks
