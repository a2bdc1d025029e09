"""The buttons and the form of the follow-through and the action items, for their
records in slack/controls.py: Done and Snooze on a follow-through reminder, Done on an
action item, and "Add action item" (on the postmortem reply and as a message shortcut)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_bolt.async_app import AsyncAck

from bot.incidents.errors import IncidentError, MissingText
from bot.slack.blocks import Block, clip
from bot.slack.form import Form
from bot.slack.ids import Field
from bot.slack.modals import action_item_modal

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
