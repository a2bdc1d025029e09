"""One record per button: its action id, label and style, the permission it needs, the
modal it opens and the submission that handles that modal. The domain says which
buttons a message carries (incidents.chat.Control); BY_CONTROL says what each is here.
The listeners (listeners/actions.py, submissions.py) only look records up."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from slack_bolt.async_app import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.incidents import chat
from bot.incidents.controls import SNOOZE_CHOICES
from bot.incidents.errors import (
    IncidentError,
    MissingText,
    NotAllowed,
    NothingToDo,
    UnknownLevel,
    UnknownSeverity,
)
from bot.policy.durations import format_duration
from bot.policy.model import Policy
from bot.policy.permissions import Action as Permission
from bot.slack.blocks import Block
from bot.slack.form import Form
from bot.slack.ids import Action, Field, View
from bot.slack.modals import (
    declare_modal,
    escalate_modal,
    resolve_modal,
    severity_modal,
    snooze_modal,
    update_modal,
)
from bot.slack.replies import declare_reply
from bot.store.tables import Incident

if TYPE_CHECKING:
    from bot.services import Services


@dataclass(frozen=True)
class Asked:
    """Who pressed or submitted what, about which incident (under its own policy)."""

    services: Services
    client: AsyncWebClient
    control: Control
    user: str
    incident: Incident | None
    policy: Policy  # the version the incident started with; the current one to declare

    @property
    def on(self) -> Incident:
        if self.incident is None:  # the listeners refuse earlier; this narrows the type
            raise IncidentError("That incident no longer exists.")
        return self.incident

    async def check(self) -> None:
        """Refuse (NotAllowed) unless the user holds the control's permission."""
        if self.control.needs is not None:
            await self.services.controls.check(self.on, self.user, self.control.needs)


@dataclass(frozen=True)
class Control:
    id: Action
    label: str
    style: str | None
    # Checked before the modal opens and again on submit (who holds it may change).
    needs: Permission | None
    # The modal's callback id, and its main input (where a refusal about no field goes).
    modal: View | None
    field: Field | None
    # Builds the modal; None for a button that acts at once.
    opens: Callable[[Asked], Awaitable[Block]] | None
    # Handles the submission (or the click of a button without a modal); returns what
    # to tell the user, if anything. A submission acks once its input is valid, before
    # the slow part of its work (the modal closes then); a refusal raised before that
    # goes onto the modal (slack/errors.py).
    submit: Callable[[Asked, Form, AsyncAck], Awaitable[str | None]]
    # The domain's control this button shows (incidents.chat.Control); None for the
    # one that is not about an incident (Declare).
    shows: chat.Control | None

    @property
    def on_incident(self) -> bool:
        return self.shows is not None


# -- Post update ---------------------------------------------------------------------


async def _open_update(a: Asked) -> Block:
    publisher = a.services.publisher
    draft = None
    if await publisher.may(a.on, a.user):
        draft = await publisher.draft(a.on, a.on.status, "")
    return update_modal(a.policy, a.on, draft)


async def _submit_update(a: Asked, form: Form, ack: AsyncAck) -> None:
    text = form.value(Field.TEXT)
    if not text:
        raise MissingText("Say what changed.", field=Field.TEXT)
    await a.check()
    status = form.value(Field.STATUS) or a.on.status
    publish = form.checked(Field.PUBLISH)
    if publish and not await a.services.publisher.may(a.on, a.user):
        raise NotAllowed("You may not publish this incident.", field=Field.PUBLISH)
    # Committed (with its post) before the modal closes: a crash after the ack loses nothing.
    await a.services.controls.update(a.on, a.user, text, status)
    await ack()
    if publish:
        public = form.value(Field.PUBLIC_TEXT) or await a.services.publisher.draft(
            a.on, status, text
        )
        await a.services.publisher.publish(a.on, a.user, public, status)
    return None


# -- Change severity -----------------------------------------------------------------


async def _open_severity(a: Asked) -> Block:
    if len(a.policy.severities) < 2:
        raise NothingToDo(f"The policy has no severity other than {a.on.severity}.")
    return severity_modal(a.policy, a.on)


async def _submit_severity(a: Asked, form: Form, ack: AsyncAck) -> None:
    await a.check()
    severity = form.value(Field.SEVERITY)
    if a.policy.severity(severity) is None or severity == a.on.severity:
        raise UnknownSeverity(f"Pick a severity other than {a.on.severity}.")
    await a.services.controls.set_severity(a.on, a.user, severity)
    await ack()
    return None


# -- Escalate ------------------------------------------------------------------------


async def _open_escalate(a: Asked) -> Block:
    if not a.policy.escalation.levels:
        raise NothingToDo("The policy has no escalation levels: page people in the channel.")
    return escalate_modal(a.policy, a.on, await a.services.store.paged_levels(a.on.id))


async def _submit_escalate(a: Asked, form: Form, ack: AsyncAck) -> None:
    chosen = form.value(Field.LEVEL)
    levels = a.policy.escalation.levels
    if not chosen.isdigit() or int(chosen) >= len(levels):
        raise UnknownLevel("Pick a level in the list.", field=Field.LEVEL)
    await a.check()
    reason = form.value(Field.REASON) or "escalate button"
    # Committed (with its messages) before the modal closes.
    await a.services.controls.escalate(a.on, a.user, reason, levels[int(chosen)].name)
    await ack()
    return None


# -- Acknowledge (no modal; on a page's mention and DMs) ------------------------------


async def _acknowledge(a: Asked, form: Form, ack: AsyncAck) -> str:
    n = await a.services.controls.ack(a.on, a.user)
    return f"Acknowledged {a.on.number} ({n} page{'s' if n != 1 else ''}); that timer stopped."


# -- Resolve -------------------------------------------------------------------------


async def _open_resolve(a: Asked) -> Block:
    return resolve_modal(a.on)


async def _submit_resolve(a: Asked, form: Form, ack: AsyncAck) -> None:
    summary = form.value(Field.SUMMARY)
    if not summary:
        raise MissingText(
            "Say what fixed it: the summary goes in the postmortem.", field=Field.SUMMARY
        )
    await a.check()
    await a.services.controls.resolve(a.on, a.user, summary)
    await ack()
    return None


# -- Snooze --------------------------------------------------------------------------


async def _open_snooze(a: Asked) -> Block:
    return snooze_modal(a.on, SNOOZE_CHOICES)


async def _submit_snooze(a: Asked, form: Form, ack: AsyncAck) -> None:
    choice = form.value(Field.DURATION)
    duration = next((d for d in SNOOZE_CHOICES if format_duration(d) == choice), None)
    if duration is None:
        raise IncidentError("Pick 15m, 30m or 1h.", field=Field.DURATION)
    await a.check()
    await a.services.controls.snooze(a.on, a.user, duration)
    await ack()
    return None


# -- Declare (the App Home's button) -------------------------------------------------


async def _open_declare(a: Asked) -> Block:
    return declare_modal(a.policy)


async def _submit_declare(a: Asked, form: Form, ack: AsyncAck) -> None:
    severity, title = form.value(Field.SEVERITY), form.value(Field.TITLE)
    errors: dict[str, str] = {}
    if a.policy.severity(severity) is None:
        errors[Field.SEVERITY.value] = "Pick one of the severities in the list."
    if not title or not any(c.isalnum() for c in title):
        errors[Field.TITLE.value] = "Give the incident a title, e.g. Payment processing down."
    if errors:  # both fields at once: one round trip shows every mistake
        await ack(response_action="errors", errors=errors)
        return None
    incidents = a.services.incidents
    # Stored before the ack: once the modal closes, the declaration must survive a crash.
    # Keyed by the modal's id: a double click submits it twice, and declares once.
    opened = await incidents.open(
        severity=severity, title=title, user_id=a.user, key=form.view_id or None
    )
    await ack()
    if not opened.new:  # the first submission tells the declarer and sets the channel up
        return None
    text = declare_reply(await incidents.set_up(opened))
    # A modal has no response_url: tell the declarer by DM.
    await a.client.chat_postMessage(channel=a.user, text=text)
    return None


# -- the table -----------------------------------------------------------------------

_TABLE = (
    Control(
        Action.POST_UPDATE, "Post update", "primary", needs="update",
        modal=View.UPDATE, field=Field.TEXT, opens=_open_update, submit=_submit_update,
        shows=chat.Control.POST_UPDATE,
    ),
    Control(
        Action.CHANGE_SEVERITY, "Change severity", None, needs="severity",
        modal=View.SEVERITY, field=Field.SEVERITY, opens=_open_severity,
        submit=_submit_severity, shows=chat.Control.CHANGE_SEVERITY,
    ),
    Control(
        Action.ESCALATE, "Escalate", None, needs="escalate",
        modal=View.ESCALATE, field=Field.LEVEL, opens=_open_escalate,
        submit=_submit_escalate, shows=chat.Control.ESCALATE,
    ),
    Control(
        Action.RESOLVE, "Resolve", "danger", needs="resolve",
        modal=View.RESOLVE, field=Field.SUMMARY, opens=_open_resolve, submit=_submit_resolve,
        shows=chat.Control.RESOLVE,
    ),
    # Snoozing a reminder is part of keeping the incident updated.
    Control(
        Action.SNOOZE, "Snooze", None, needs="update",
        modal=View.SNOOZE, field=Field.DURATION, opens=_open_snooze, submit=_submit_snooze,
        shows=chat.Control.SNOOZE,
    ),
    # Anyone may press it; the use case acknowledges only the pages addressed to them.
    Control(
        Action.ACKNOWLEDGE, "Acknowledge", "primary", needs=None,
        modal=None, field=None, opens=None, submit=_acknowledge,
        shows=chat.Control.ACKNOWLEDGE,
    ),
    # On the App Home. Anyone may open the form; the use case checks who may declare.
    Control(
        Action.DECLARE, "Declare incident", "danger", needs=None,
        modal=View.DECLARE, field=Field.TITLE, opens=_open_declare, submit=_submit_declare,
        shows=None,
    ),
)  # fmt: skip
BY_ACTION: dict[str, Control] = {c.id: c for c in _TABLE}
BY_VIEW: dict[str, Control] = {c.modal: c for c in _TABLE if c.modal is not None}
# The domain's controls (the buttons a message carries) as Slack buttons.
BY_CONTROL: dict[chat.Control, Control] = {c.shows: c for c in _TABLE if c.shows is not None}
