"""The /incident slash command: parse, then hand to a use case. Ack within 3 s."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.incidents.errors import IncidentError, NotInIncidentChannel
from bot.services import Services
from bot.slack import command as cmd
from bot.slack import mrkdwn
from bot.slack.after_replies import actions_reply, postmortem_blocks
from bot.slack.ids import SLASH_COMMAND
from bot.slack.middleware import Scope, scope_of
from bot.slack.modals import declare_modal, update_modal
from bot.slack.oncall_replies import oncall_reply
from bot.slack.replies import declare_reply, incident_list
from bot.store.tables import Incident

log = logging.getLogger(__name__)

OUTSIDE = (
    "This command works inside an incident channel. Run it there, or use "
    "`/incident list` to find the incident's channel."
)


async def in_incident(
    services: Services, parsed: cmd.Command, incident: Incident, user: str
) -> str:
    """Run an in-incident command; returns the ephemeral confirmation."""
    c = services.controls
    match parsed:
        case cmd.Update(text=text, status=status):
            await c.update(incident, user, text, status)
            return "Update posted; the update clock restarted."
        case cmd.SetStatus(status=status):
            inc = await c.set_status(incident, user, status)
            return f"Status is now {inc.status}."
        case cmd.SetSeverity(severity=severity):
            inc = await c.set_severity(incident, user, severity)
            return f"Severity is now {inc.severity}; reminders and escalation re-planned."
        case cmd.Ack():
            n = await c.ack(incident, user)
            return f"Acknowledged ({n} page{'s' if n != 1 else ''})."
        case cmd.Commander(user_id=new):
            await c.set_commander(incident, user, new)
            return f"{mrkdwn.user(new)} is now the commander."
        case cmd.Role(role=role, user_id=who, also=also):
            await c.assign_role(incident, user, role, [who, *also])
            people = ", ".join(mrkdwn.user(u) for u in (who, *also))
            return f"{people} {'is' if not also else 'are'} now {role}."
        case cmd.Note(text=text):
            await c.note(incident, user, text)
            return "Noted in the timeline."
        case cmd.Escalate(reason=reason, level=aimed):
            level = await c.escalate(incident, user, reason, aimed)
            return f"Escalated to {level}."
        case cmd.Resolve(summary=summary):
            await c.resolve(incident, user, summary)
            return f"{incident.number} resolved. Every reminder and escalation stopped."
        case cmd.Timeline():
            return await services.reports_text(incident, "timeline")
        case cmd.Postmortem():
            return await services.reports_text(incident, "postmortem")
        case cmd.AddAction(text=text, owner=owner, due=due):
            item = await services.action_items.add(incident, user, text, owner, due)
            tz = (await services.policy.of(incident)).timezone
            told = f" {mrkdwn.user(owner)} is told by DM." if owner else ""
            return f"Added: {services.action_items.describe(item, tz)}.{told}"
        case cmd.Actions(done=number) if number is not None:
            return await services.action_items.done(number, user, incident)
    raise IncidentError("That command is not available here; see `/incident help`.")


async def open_publish_modal(
    services: Services,
    client: AsyncWebClient,
    body: dict[str, Any],
    scope: Scope,
    parsed: cmd.Update,
) -> None:
    user, incident, pol = body["user_id"], scope.incident, scope.policy
    text, status = parsed.text, parsed.status or incident.status
    await services.publisher.check(incident, user)  # private, not published, not allowed
    picked = await services.publisher.components_of(incident)
    draft = await services.publisher.draft(incident, status, text, picked)
    view = update_modal(pol, incident, draft, text=text, status=status, publish=True, picked=picked)
    await client.views_open(trigger_id=body["trigger_id"], view=view)


def register(app: AsyncApp, services: Services) -> None:
    @app.command(SLASH_COMMAND)
    async def on_incident(
        ack: AsyncAck,
        body: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        user = body["user_id"]
        channel = body.get("channel_id", "")
        # An in-incident verb comes with its incident, resolved by slack/middleware.py
        # (none outside an incident channel): it speaks that incident's policy.
        scope = scope_of(context)
        vocab = cmd.Vocabulary(scope.policy if scope else services.policy.policy)
        # Refusals (a UsageError here) are answered by the one error handler, slack/errors.py.
        parsed = cmd.parse(body.get("text", ""), vocab)

        if isinstance(parsed, cmd.OpenDeclareModal):
            await ack()
            try:
                await client.views_open(
                    trigger_id=body["trigger_id"],
                    view=declare_modal(services.policy.policy, channel_id=channel),
                )
            except SlackApiError as e:
                # Usually an expired trigger (3 s): the direct form needs no modal.
                await respond(
                    response_type="ephemeral",
                    text=f"The declare form could not open (`{e.response.get('error')}`). "
                    "Type `/incident` again, or declare at once with "
                    "`/incident <severity> <title>`.",
                )
            return
        if isinstance(parsed, cmd.Help):
            await ack(response_type="ephemeral", text=cmd.help_text(vocab))
            return
        if isinstance(parsed, cmd.ListIncidents):
            incidents = await services.access.list_open(user)
            await ack(response_type="ephemeral", **(await incident_list(incidents, services)))
            return
        if isinstance(parsed, cmd.Declare):
            # Stored before the ack (a crash after it must not lose the declaration), the
            # channel after it: creating and posting take longer than Slack's 3 s.
            opened = await services.incidents.open(
                severity=parsed.severity, title=parsed.title, user_id=user, drill=parsed.drill
            )
            what = "a drill, " if parsed.drill else ""
            await ack(
                response_type="ephemeral",
                text=f"Declaring {what}{parsed.severity} *{mrkdwn.escape(parsed.title)}*… "
                "the channel is on its way.",
            )
            outcome = await services.incidents.set_up(opened)
            await respond(
                response_type="ephemeral", replace_original=False, text=declare_reply(outcome)
            )
            return
        if isinstance(parsed, (cmd.OnCall, cmd.OnCallOverride)):  # anywhere
            pol = services.policy.policy
            text = await oncall_reply(services.oncall, client, pol, parsed, user)
            await ack(response_type="ephemeral", text=text)
            return
        # In-incident verbs: the use case, after the ack.
        if scope is None:  # not in an incident channel
            raise NotInIncidentChannel(OUTSIDE)
        if isinstance(parsed, cmd.Update) and parsed.publish:
            # `/incident update --publish ...`: the modal, prefilled, so the public text can be
            # edited before it goes out (trigger_id is only good for 3 seconds: open it now).
            await ack()
            await open_publish_modal(services, client, body, scope, parsed)
            return
        if isinstance(parsed, (cmd.Timeline, cmd.Postmortem)):
            # Reports read and may upload a file: longer than Slack's 3 s, and they change
            # nothing, so they answer after the ack.
            await ack()
            text = await in_incident(services, parsed, scope.incident, user)
            # The postmortem's reply carries the button that records an action item.
            blocks = (
                postmortem_blocks(text, scope.incident)
                if isinstance(parsed, cmd.Postmortem)
                else None
            )
            await respond(
                response_type="ephemeral", replace_original=False, text=text, blocks=blocks
            )
            return
        if isinstance(parsed, cmd.Actions) and parsed.done is None:
            await ack(response_type="ephemeral", **(await actions_reply(services, scope.incident)))
            return
        # A change is committed, with what it tells the channel, before it is
        # acknowledged: the confirmation is the ack, and a crash before it loses nothing
        # the user was told of. (Its posts go out from the outbox right after.)
        text = await in_incident(services, parsed, scope.incident, user)
        await ack(response_type="ephemeral", text=text)
