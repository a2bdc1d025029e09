"""A domain Message as a Slack message: blocks, buttons, and the fallback text."""

from __future__ import annotations

from bot.incidents.chat import Message
from bot.slack.blocks import MAX_BLOCKS_MESSAGE, Block, button, clip, header, section
from bot.slack.controls import BY_CONTROL
from bot.slack.ids import BlockId


def message_blocks(msg: Message) -> list[Block]:
    blocks: list[Block] = []
    if msg.title:
        blocks.append(header(msg.title))
    blocks += section(msg.text)
    if msg.context:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(msg.context, 3000)}]}
        )
    if msg.controls:
        value = str(msg.incident_id or "")
        if msg.subject:  # "<incident>:<subject>": the middleware reads the incident first
            value += f":{msg.subject}"
        elements = []
        for shown in msg.controls:
            control = BY_CONTROL[shown]
            elements.append(button(control.id, control.label, value, control.style))
        blocks.append(
            {"type": "actions", "block_id": BlockId.INCIDENT_CONTROLS.value, "elements": elements}
        )
    return fit_message(blocks)


def fit_message(blocks: list[Block]) -> list[Block]:
    """Keep within Slack's 50 blocks a message, saying that something was cut."""
    if len(blocks) <= MAX_BLOCKS_MESSAGE:
        return blocks
    kept = blocks[: MAX_BLOCKS_MESSAGE - 1]
    kept.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "_(truncated: too long)_"}]}
    )
    return kept


def fallback_text(msg: Message) -> str:
    """The notification and screen-reader text that goes beside the blocks."""
    text = f"{msg.title}: {msg.text}" if msg.title else msg.text
    return clip(text, 3000)
