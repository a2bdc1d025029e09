"""The controls' modals (Block Kit). An incident's id rides in private_metadata."""

from __future__ import annotations

from bot.policy.durations import format_duration
from bot.policy.model import Policy
from bot.slack.blocks import MAX_BLOCKS_VIEW, Block, clip, option
from bot.slack.ids import Field, View
from bot.store.tables import Incident


def _input(field: Field, label: str, element: Block, optional: bool = False) -> Block:
    return {
        "type": "input",
        "block_id": field.value,
        "optional": optional,
        "label": {"type": "plain_text", "text": label},
        "element": {"action_id": field.value, **element},
    }


def _modal(view: View, title: str, submit: str, incident: Incident, blocks: list[Block]) -> Block:
    return {
        "type": "modal",
        "callback_id": view.value,
        "title": {"type": "plain_text", "text": clip(title, 24)},
        "submit": {"type": "plain_text", "text": clip(submit, 24)},
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
            *blocks,
        ],
    }


def update_modal(
    policy: Policy,
    incident: Incident,
    draft: str | None = None,
    *,
    text: str = "",
    status: str | None = None,
    publish: bool = False,
) -> Block:
    """`draft` (the customer-facing text) is offered only to those who may publish."""
    statuses = [
        option(s, s.capitalize()) for s in policy.statuses.values if s != policy.statuses.final
    ]
    current = next((o for o in statuses if o["value"] == (status or incident.status)), None)
    select: Block = {"type": "static_select", "options": statuses}
    if current:
        select["initial_option"] = current
    return _modal(
        View.UPDATE,
        "Post update",
        "Post",
        incident,
        [
            _input(Field.STATUS, "Status", select),
            _input(
                Field.TEXT,
                "What changed",
                {
                    "type": "plain_text_input",
                    "multiline": True,
                    "max_length": 2500,
                    **({"initial_value": clip(text, 2500)} if text else {}),
                },
            ),
            *(_publish_blocks(draft, publish) if draft is not None else []),
        ],
    )


def _publish_blocks(draft: str, checked: bool = False) -> list[Block]:
    choice = option("yes", "Publish to the status page")
    ticked: Block = {"initial_options": [choice]} if checked else {}
    return [
        {
            "type": "input",
            "block_id": Field.PUBLISH.value,
            "optional": True,
            "label": {"type": "plain_text", "text": "Status page"},
            "element": {
                "type": "checkboxes",
                "action_id": Field.PUBLISH.value,
                "options": [choice],
                **ticked,
            },
        },
        _input(
            Field.PUBLIC_TEXT,
            "Customer-facing text (edit it before it goes out)",
            {
                "type": "plain_text_input",
                "multiline": True,
                "max_length": 2500,
                "initial_value": clip(draft, 2500),
            },
            optional=True,
        ),
    ]


def severity_modal(policy: Policy, incident: Incident) -> Block:
    # The current severity is left out: picking it would change nothing.
    options = [
        option(s.name, f"{s.name}: {s.label}" if s.label else s.name)
        for s in policy.severities
        if s.name != incident.severity
    ]
    return _modal(
        View.SEVERITY,
        "Change severity",
        "Change",
        incident,
        [
            _input(
                Field.SEVERITY, "New severity", {"type": "static_select", "options": options[:100]}
            ),
        ],
    )


def resolve_modal(incident: Incident) -> Block:
    return _modal(
        View.RESOLVE,
        "Resolve incident",
        "Resolve",
        incident,
        [
            _input(
                Field.SUMMARY,
                "Summary: what fixed it",
                {"type": "plain_text_input", "multiline": True, "max_length": 2500},
            ),
        ],
    )


def snooze_modal(incident: Incident, choices: tuple[object, ...]) -> Block:
    options = [
        option(format_duration(d), f"Snooze {format_duration(d)}")  # type: ignore[arg-type]
        for d in choices
    ]
    return _modal(
        View.SNOOZE,
        "Snooze reminder",
        "Snooze",
        incident,
        [
            _input(
                Field.DURATION,
                "For how long",
                {"type": "static_select", "options": options, "initial_option": options[0]},
            ),
        ],
    )


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


def escalate_modal(policy: Policy, incident: Incident, paged: set[int]) -> Block:
    """Pick the level (the next one not paged yet is chosen) and say why: the modal is
    the confirmation, nobody is paged until it is submitted."""
    levels = policy.escalation.levels
    options = []
    for i, lv in enumerate(levels):
        notes = [n for n, on in (("paged already", i in paged), ("manual", lv.manual)) if on]
        label = f"{lv.name} ({', '.join(notes)})" if notes else lv.name
        options.append(option(str(i), label))
    first = next((o for i, o in enumerate(options) if i not in paged), None)
    select: Block = {"type": "static_select", "options": options[:100]}
    if first is not None:
        select["initial_option"] = first
    return _modal(
        View.ESCALATE,
        "Escalate",
        "Page now",
        incident,
        [
            _input(Field.LEVEL, "Level to page", select),
            _input(
                Field.REASON,
                "Why (the people paged read it)",
                {"type": "plain_text_input", "max_length": 500},
                optional=True,
            ),
        ],
    )
