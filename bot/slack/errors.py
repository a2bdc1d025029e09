"""The one Bolt error handler. A refusal (IncidentError, the parser's UsageError among
them) is shown where the user asked: on the modal's field for a submission not yet
answered, in the ack of a slash command, as an ephemeral message where Slack gave a
response_url, and by DM where there is none (a closed modal, an App Home button).
Anything else is a bug: logged, and the user told that nothing was changed."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.incidents.errors import IncidentError
from bot.slack.controls import BY_VIEW
from bot.slack.ids import TRIGGER_ERRORS, Payload

log = logging.getLogger(__name__)

# Slack shows a field error of up to about this many characters.
MAX_FIELD_ERROR = 150
FAILED = (
    "Something went wrong on our side; nothing was changed by the failing step. "
    "Try again, and tell your bot operator if it keeps happening."
)


class StickyAck(AsyncAck):
    """An ack whose answer, once given, stays. When a listener raises after acking,
    Bolt's runner (listener/asyncio_runner.py) sets `ack.response = None` after the error
    handler; a dispatcher that had not yet polled the ack (every 10 ms) then answers
    Slack 404. A refusal raised right after the ack is the common case here."""

    def __init__(self) -> None:  # AsyncAck's own only sets response = None
        self._response: BoltResponse | None = None

    @property
    def response(self) -> BoltResponse | None:
        return self._response

    @response.setter
    def response(self, value: BoltResponse | None) -> None:
        if value is not None or self._response is None:
            self._response = value


async def sticky_ack(context: AsyncBoltContext, next: Callable[[], Awaitable[None]]) -> None:
    if context.ack.response is None:
        context["ack"] = StickyAck()
    await next()


def field_errors(view: dict[str, Any], error: IncidentError) -> dict[str, str]:
    """`response_action: errors` for a modal: on the refusal's field if the modal has it,
    else on the modal's main input (its control's, else its first)."""
    blocks = [b for b in view.get("blocks") or [] if isinstance(b, dict)]  # input, unchecked
    inputs = [str(b.get("block_id")) for b in blocks if b.get("type") == "input"]
    control = BY_VIEW.get(str(view.get("callback_id")))
    main = control.field if control is not None else None
    field = error.field if error.field in inputs else main or (inputs[0] if inputs else "")
    return {field: str(error)[:MAX_FIELD_ERROR]}


def _user(body: dict[str, Any]) -> str | None:
    user = body.get("user")
    found = user.get("id") if isinstance(user, dict) else body.get("user_id")
    return found if isinstance(found, str) and found else None


async def show_refusal(
    error: IncidentError,
    body: dict[str, Any],
    ack: AsyncAck,
    respond: AsyncRespond | None,
    client: AsyncWebClient,
    acked: bool,
) -> BoltResponse | None:
    """Tell the user; returns the ack's response when the request is not answered yet
    (Bolt copies it into the answer it sends Slack)."""
    text = str(error)
    submission = body.get("type") == Payload.VIEW_SUBMISSION
    if not acked:
        if submission:
            return await ack(response_action="errors", errors=field_errors(body["view"], error))
        if body.get("command"):
            return await ack(response_type="ephemeral", text=text)
    if not submission and respond is not None and body.get("response_url"):
        await respond(response_type="ephemeral", replace_original=False, text=text)
    elif (user := _user(body)) is not None:
        # A closed modal or an App Home button has no response_url: tell by DM.
        try:
            await client.chat_postMessage(channel=user, text=text)
        except SlackApiError as e:
            log.warning("could not tell %s %r: %s", user, text, e.response.get("error"))
    return None if acked else await ack()


def register(app: AsyncApp) -> None:
    app.middleware(sticky_ack)

    @app.error
    async def on_error(
        error: Exception,
        body: dict[str, Any],
        ack: AsyncAck,
        respond: AsyncRespond | None,
        client: AsyncWebClient,
        response: BoltResponse | None,
    ) -> BoltResponse | None:
        # Bolt passes no response once the listener has acked (the answer is sent).
        acked = response is None or ack.response is not None
        if isinstance(error, IncidentError):
            return await show_refusal(error, body, ack, respond, client, acked)
        if isinstance(error, SlackApiError) and error.response.get("error") in TRIGGER_ERRORS:
            # A form that could not open (too slow, or a click Slack replayed): no bug.
            code = error.response.get("error")
            refusal = IncidentError(f"The form could not open (`{code}`). Click again.")
            return await show_refusal(refusal, body, ack, respond, client, acked)
        log.exception("unhandled error in a listener", exc_info=error)
        if respond is not None and body.get("response_url"):
            await respond(response_type="ephemeral", replace_original=False, text=FAILED)
        return None
