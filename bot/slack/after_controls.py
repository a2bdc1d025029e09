"""The buttons and the form of the follow-through and the action items, for their
records in slack/controls.py: Done and Snooze on a follow-through reminder, Done on an
action item, and "Add action item" (on the postmortem reply and as a message shortcut)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_bolt.async_app import AsyncAck

from bot.incidents.errors import IncidentError, MissingText
from bot.slack.blocks import Block, clip
from bot.slack.form import Form
from bot.slack.ids import Field, View
from bot.store.tables import Incident

if TYPE_CHECKING:
    from bot.slack.controls import Asked


async def follow_done(a: Asked, form: Form, ack: AsyncAck) -> str:
    return await a.services.follow_through.done(a.on, a.user, a.subject)


async def follow_snooze(a: Asked, form: Form, ack: AsyncAck) -> str:
    return await a.services.follow_through.snooze(a.on, a.user, a.subject)


async def action_done(a: Asked, form: Form, ack: AsyncAck) -> str:
    if not a.subject.isdigit():
        raise IncidentError("That button names no action item; try `/incident actions`.")
    return await a.services.action_items.done(int(a.subject), a.user)


def action_item_modal(incident: Incident, text: str = "") -> Block:
    """What to do (`text`: the message it is made from), who owns it, by when."""

    def field(f: Field, label: str, element: Block, optional: bool = False) -> Block:
        return {
            "type": "input",
            "block_id": f.value,
            "optional": optional,
            "label": {"type": "plain_text", "text": label},
            "element": {"action_id": f.value, **element},
        }

    what: Block = {"type": "plain_text_input", "multiline": True, "max_length": 500}
    if text:
        what["initial_value"] = clip(text, 500)
    return {
        "type": "modal",
        "callback_id": View.ACTION_ITEM.value,
        "title": {"type": "plain_text", "text": "Add action item"},
        "submit": {"type": "plain_text", "text": "Add"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": str(incident.id),
        "blocks": [
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": clip(
                            f"*{incident.number}* {incident.severity}: {incident.title}", 3000
                        ),
                    }
                ],
            },
            field(Field.TEXT, "What is to be done", what),
            field(Field.OWNER, "Owner", {"type": "users_select"}, optional=True),
            field(Field.DUE, "Due", {"type": "datepicker"}, optional=True),
        ],
    }


async def open_add_action(a: Asked) -> Block:
    return action_item_modal(a.on)


async def submit_add_action(a: Asked, form: Form, ack: AsyncAck) -> None:
    text = form.value(Field.TEXT)
    if not text:
        raise MissingText("Say what is to be done.", field=Field.TEXT)
    owner = form.picked(Field.OWNER, "selected_user") or None
    due = form.picked(Field.DUE, "selected_date") or None
    # Refusals (a due date in the past) go onto the form, before it closes.
    item = await a.services.action_items.add(a.on, a.user, text, owner, due)
    await ack()
    await a.client.chat_postMessage(
        channel=a.user,
        text=f"Added {item.number} to {a.on.number}: {clip(item.text, 200)}",
    )
