"""Block Kit rendering. Limits are enforced here, before Slack would reject a message."""

from __future__ import annotations

from typing import Any

from bot.incidents.chat import Control, Message
from bot.policy.model import Policy
from bot.slack.ids import Action, BlockId, Field, View

MAX_BLOCKS_MESSAGE = 50
MAX_BLOCKS_VIEW = 100
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75
MAX_OPTION_TEXT = 75

Block = dict[str, Any]

CONTROL_BUTTONS: dict[Control, tuple[Action, str, str | None]] = {
    Control.POST_UPDATE: (Action.POST_UPDATE, "Post update", "primary"),
    Control.CHANGE_SEVERITY: (Action.CHANGE_SEVERITY, "Change severity", None),
    Control.ESCALATE: (Action.ESCALATE, "Escalate", None),
    Control.RESOLVE: (Action.RESOLVE, "Resolve", "danger"),
    Control.SNOOZE: (Action.SNOOZE, "Snooze", None),
}


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
        elements = []
        for control in msg.controls:
            action, label, style = CONTROL_BUTTONS[control]
            elements.append(button(action, label, value, style))
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


def option(value: str, label: str) -> Block:
    return {"text": {"type": "plain_text", "text": clip(label, MAX_OPTION_TEXT)}, "value": value}


def declare_modal(policy: Policy, *, channel_id: str = "") -> Block:
    sev_options = [
        option(s.name, f"{s.name}: {s.label}" if s.label else s.name) for s in policy.severities
    ]
    help_lines = [f"*{s.name}*: {s.impact}" for s in policy.severities if s.impact]
    blocks: list[Block] = [
        {
            "type": "input",
            "block_id": Field.SEVERITY.value,
            "label": {"type": "plain_text", "text": "Severity"},
            "element": {
                "type": "static_select",
                "action_id": Field.SEVERITY.value,
                "placeholder": {"type": "plain_text", "text": "How bad is it?"},
                "options": sev_options[:100],
            },
        },
        {
            "type": "input",
            "block_id": Field.TITLE.value,
            "label": {"type": "plain_text", "text": "Title"},
            "element": {
                "type": "plain_text_input",
                "action_id": Field.TITLE.value,
                "max_length": 200,
                "placeholder": {"type": "plain_text", "text": "Payment processing down"},
            },
        },
    ]
    if help_lines:
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": clip("\n".join(help_lines), 3000)}],
            }
        )
    return {
        "type": "modal",
        "callback_id": View.DECLARE.value,
        "title": {"type": "plain_text", "text": "Declare incident"},
        "submit": {"type": "plain_text", "text": "Declare"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": channel_id,
        "blocks": blocks[:MAX_BLOCKS_VIEW],
    }
