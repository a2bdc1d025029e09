"""Pure parser of the ``/incident`` slash-command text.

``parse(text, vocab)`` turns what a user typed after ``/incident`` into one command
object, or raises :class:`UsageError` whose message says what was wrong and what
would work, ready to be shown to the user as an ephemeral Slack (mrkdwn) message.

Text conventions: Slack sends command text with ``&``, ``<`` and ``>`` escaped as
``&amp;``, ``&lt;``, ``&gt;`` and with mentions, channels and links as ``<...>``
markup. ``Declare.title`` is decoded to plain text (it names a channel, a topic and
a modal field; renderers escape it). Free text (``Update.text``, ``Note.text``,
``Escalate.reason``, ``Resolve.summary``) is kept as the Slack mrkdwn it arrived
as, so mentions and links in it stay live when it is posted back.

No Slack imports, no I/O. The modules: verbs (the one verb table, parse, help),
arguments (what each verb takes), objects (what parse returns), text (tokens and
quoting), vocabulary (the policy's words and matchers).
"""

from bot.slack.command.arguments import PUBLISH_FLAG, TITLE_MAX_LEN
from bot.slack.command.objects import (
    Ack,
    Actions,
    AddAction,
    Command,
    Commander,
    Declare,
    Escalate,
    Help,
    ListIncidents,
    Note,
    OnCall,
    OnCallOverride,
    OpenDeclareModal,
    Postmortem,
    Resolve,
    Role,
    SetSeverity,
    SetStatus,
    Timeline,
    Update,
    UsageError,
)
from bot.slack.command.verbs import IN_INCIDENT, VERBS, Verb, help_text, parse, verb_of
from bot.slack.command.vocabulary import Vocabulary

__all__ = [
    "IN_INCIDENT",
    "PUBLISH_FLAG",
    "TITLE_MAX_LEN",
    "VERBS",
    "Ack",
    "Actions",
    "AddAction",
    "Command",
    "Commander",
    "Declare",
    "Escalate",
    "Help",
    "ListIncidents",
    "Note",
    "OnCall",
    "OnCallOverride",
    "OpenDeclareModal",
    "Postmortem",
    "Resolve",
    "Role",
    "SetSeverity",
    "SetStatus",
    "Timeline",
    "Update",
    "UsageError",
    "Verb",
    "Vocabulary",
    "help_text",
    "parse",
    "verb_of",
]
