"""The one error handler's choices (bot/slack/errors.py) and the control table it reads
(bot/slack/controls.py), without a Slack round trip."""

from __future__ import annotations

from slack_bolt.response import BoltResponse

from bot.incidents import chat
from bot.incidents.errors import IncidentError, UnknownSeverity, UnknownStatus
from bot.slack.controls import BY_ACTION, BY_CONTROL, BY_VIEW
from bot.slack.errors import StickyAck, field_errors
from bot.slack.ids import Field, View


def modal(view: View, *fields: Field) -> dict[str, object]:
    return {
        "callback_id": view.value,
        "blocks": [
            {"type": "context", "elements": []},
            *({"type": "input", "block_id": f.value} for f in fields),
        ],
    }


def test_a_refusal_goes_on_its_own_field_when_the_modal_has_it() -> None:
    update = modal(View.UPDATE, Field.STATUS, Field.TEXT)
    assert field_errors(update, UnknownStatus("Unknown status `x`.")) == {
        "status": "Unknown status `x`."
    }


def test_a_refusal_naming_a_field_the_modal_lacks_goes_on_its_main_input() -> None:
    resolve = modal(View.RESOLVE, Field.SUMMARY)
    assert set(field_errors(resolve, UnknownSeverity("no"))) == {"summary"}
    assert set(field_errors(resolve, IncidentError("no"))) == {"summary"}


def test_a_field_error_is_cut_to_what_slack_shows() -> None:
    errors = field_errors(modal(View.SNOOZE, Field.DURATION), IncidentError("x" * 400))
    assert len(errors["duration"]) == 150


def test_an_ack_once_given_is_not_taken_back() -> None:
    # Bolt's runner sets ack.response = None when a listener raises after acking.
    ack = StickyAck()
    assert ack.response is None
    answer = BoltResponse(status=200, body="")
    ack.response = answer
    ack.response = None
    assert ack.response is answer


def test_every_control_the_domain_asks_for_is_a_button_with_a_handler() -> None:
    assert set(BY_CONTROL) == set(chat.Control)
    for control in BY_ACTION.values():
        # A button either opens a modal that its record submits, or acts at once.
        assert (control.opens is None) == (control.modal is None) == (control.field is None)
        if control.modal is not None:
            assert BY_VIEW[control.modal] is control


def test_a_modal_whose_blocks_are_not_objects_still_gets_its_field_error() -> None:
    """A view's blocks are input like any other: junk among them is skipped, not a crash."""
    view = {**modal(View.RESOLVE, Field.SUMMARY), "blocks": [None, "x", {"type": "input"}]}
    assert set(field_errors(view, IncidentError("no"))) == {"summary"}
