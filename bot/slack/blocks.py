"""Block Kit pieces. Limits are enforced here, before Slack would reject a message."""

from __future__ import annotations

from typing import Any

from bot.slack.ids import Action

MAX_BLOCKS_MESSAGE = 50
MAX_BLOCKS_VIEW = 100
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75
MAX_OPTION_TEXT = 75

Block = dict[str, Any]


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def section(text: str) -> list[Block]:
    """One or more sections: long text is split rather than rejected."""
    text = text or " "
    chunks = [text[i : i + MAX_SECTION_TEXT] for i in range(0, len(text), MAX_SECTION_TEXT)]
    return [{"type": "section", "text": {"type": "mrkdwn", "text": c}} for c in chunks]


def header(text: str) -> Block:
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": clip(text, MAX_HEADER_TEXT), "emoji": True},
    }


def button(action: Action, label: str, value: str, style: str | None = None) -> Block:
    b: Block = {
        "type": "button",
        "action_id": action.value,
        "text": {"type": "plain_text", "text": clip(label, MAX_BUTTON_TEXT), "emoji": True},
        "value": value,
    }
    if style:
        b["style"] = style
    return b


def option(value: str, label: str) -> Block:
    return {"text": {"type": "plain_text", "text": clip(label, MAX_OPTION_TEXT)}, "value": value}
