"""Filling in a modal the bot opened, as Slack sends it back on submission."""

from __future__ import annotations

from typing import Any

from tests.slack_server import FakeSlack


def modals(slack: FakeSlack, callback_id: str) -> list[dict[str, Any]]:
    return [v.view for v in slack.views if v.view.get("callback_id") == callback_id]


def modal_values(modal: dict[str, Any], **answers: str) -> dict[str, Any]:
    """The view state of `modal` answered: each answer goes into the input block whose
    action_id is its name, shaped like that block's element."""
    inputs = {b["element"]["action_id"]: b for b in modal["blocks"] if b["type"] == "input"}
    values: dict[str, Any] = {}
    for name, answer in answers.items():
        assert name in inputs, f"{modal.get('callback_id')} has no input {name!r}: {sorted(inputs)}"
        block = inputs[name]
        element = block["element"]
        if element["type"] == "static_select":
            choices = [o["value"] for o in element["options"]]
            assert answer in choices, f"{answer!r} is not offered: {choices}"
            state = {"type": "static_select", "selected_option": {"value": answer}}
        else:
            state = {"type": element["type"], "value": answer}
        values[block["block_id"]] = {name: state}
    return values
