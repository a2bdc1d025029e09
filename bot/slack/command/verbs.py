"""The one verb table: each verb's parser, usage line (in help and in error messages),
help text, and whether it runs inside an incident channel. parse() and help_text()
both read it, so a verb cannot be parsed without being documented, or the reverse."""

from __future__ import annotations

from dataclasses import dataclass

from bot.policy.fields import normalize
from bot.slack.command import action_args, oncall_args
from bot.slack.command import arguments as args
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
from bot.slack.command.text import clean, code, codes, example, name, split, suggest
from bot.slack.command.vocabulary import Vocabulary


@dataclass(frozen=True)
class Verb:
    name: str
    parse: args.Arguments
    usage: str  # mrkdwn, `&lt;` escaped: it is shown inside inline code
    help: str
    in_incident: bool
    # The command object `parse` returns (what the listener dispatches on).
    makes: type[Command]
    # Other forms of the verb, for the help: (usage, help).
    more: tuple[tuple[str, str], ...] = ()


_TABLE = (
    Verb(
        "declare",
        args.declare,
        "/incident declare &lt;severity&gt; &lt;title&gt;",
        "the same, spelled out",
        in_incident=False,
        makes=Declare,
    ),
    Verb(
        "drill",
        args.drill,
        "/incident drill &lt;severity&gt; &lt;title&gt;",
        "a practice incident: pages and DMs reach only you, nothing is announced",
        in_incident=False,
        makes=Declare,
    ),
    Verb(
        "list",
        args.no_args(ListIncidents()),
        "/incident list",
        "open incidents, newest first",
        in_incident=False,
        makes=ListIncidents,
    ),
    Verb(
        "oncall",
        oncall_args.oncall,
        "/incident oncall [&lt;schedule&gt;]",
        "who is on call now and next, and when they hand over",
        in_incident=False,
        makes=OnCall,
        more=(
            (
                oncall_args.OVERRIDE_USAGE,
                "put someone on call instead, from a time until a time (the schedule's "
                "time zone; a layer after a slash, e.g. `oncall/secondary`)",
            ),
        ),
    ),
    Verb("help", args.help_, "/incident help", "this help", in_incident=False, makes=Help),
    Verb(
        "update",
        args.update,
        "/incident update [&lt;status&gt;] &lt;text&gt;",
        "post a status update; restarts the update clock",
        in_incident=True,
        makes=Update,
        more=(
            (
                f"/incident update {args.PUBLISH_FLAG} [&lt;status&gt;] &lt;text&gt;",
                "the same, from a form that also publishes it on the status page "
                "(the customer-facing text is drafted for you to edit)",
            ),
        ),
    ),
    Verb(
        "status",
        args.status,
        "/incident status &lt;status&gt;",
        "change the status",
        in_incident=True,
        makes=SetStatus,
    ),
    Verb(
        "severity",
        args.severity,
        "/incident severity &lt;severity&gt;",
        "change severity; reminders and escalation re-planned",
        in_incident=True,
        makes=SetSeverity,
    ),
    Verb(
        "ack",
        args.no_args(Ack()),
        "/incident ack",
        "acknowledge a page; stops that level's escalation timer",
        in_incident=True,
        makes=Ack,
    ),
    Verb(
        "commander",
        args.commander,
        "/incident commander @person",
        "hand over command",
        in_incident=True,
        makes=Commander,
    ),
    Verb(
        "role",
        args.role,
        "/incident role &lt;role&gt; @person [@person...]",
        "assign a role",
        in_incident=True,
        makes=Role,
    ),
    Verb(
        "note",
        args.required_text("/incident note Rolled back to v1.42", Note),
        "/incident note &lt;text&gt;",
        "add an entry to the timeline",
        in_incident=True,
        makes=Note,
    ),
    Verb(
        "escalate",
        args.escalate,
        "/incident escalate [&lt;level&gt;] [&lt;reason&gt;]",
        "page a level now (default: the next one)",
        in_incident=True,
        makes=Escalate,
    ),
    Verb(
        "resolve",
        args.required_text(
            "/incident resolve Rolled back the bad deploy; error rate normal", Resolve
        ),
        "/incident resolve &lt;summary&gt;",
        "resolve: reminders and escalation stop",
        in_incident=True,
        makes=Resolve,
    ),
    Verb(
        "timeline",
        args.no_args(Timeline()),
        "/incident timeline",
        "the timeline so far",
        in_incident=True,
        makes=Timeline,
    ),
    Verb(
        "postmortem",
        args.no_args(Postmortem()),
        "/incident postmortem",
        "the postmortem draft",
        in_incident=True,
        makes=Postmortem,
    ),
    Verb(
        "action",
        action_args.action,
        "/incident action &lt;text&gt; [@owner] [due &lt;when&gt;]",
        "add an action item; the owner is told by DM and reminded before it is due",
        in_incident=True,
        makes=AddAction,
    ),
    Verb(
        "actions",
        action_args.actions,
        "/incident actions",
        "the incident's action items, with Done buttons",
        in_incident=True,
        makes=Actions,
        more=(("/incident actions done AI-&lt;n&gt;", "mark one done"),),
    ),
)
BY_NAME: dict[str, Verb] = {v.name: v for v in _TABLE}

VERBS: tuple[str, ...] = tuple(BY_NAME)
"""Every verb, lowercase. A severity alias equal to one of these is shadowed by it."""

IN_INCIDENT: frozenset[type[Command]] = frozenset(v.makes for v in _TABLE if v.in_incident)

# The forms that are not a verb.
_FORMS: tuple[tuple[str, str], ...] = (
    ("/incident", "open the form to declare an incident"),
    ("/incident &lt;severity&gt; &lt;title&gt;", "declare an incident at once"),
)


def verb_of(text: str) -> Verb | None:
    """The verb the text starts with, if any (``post-mortem`` is ``postmortem``)."""
    return BY_NAME.get(normalize(split(clean(text))[0]))


def parse(text: str, vocab: Vocabulary) -> Command:
    """Parse the text after ``/incident``; raise :class:`UsageError` on any mistake."""
    text = clean(text)
    if not text:
        return OpenDeclareModal()
    first, rest = split(text)
    verb = BY_NAME.get(normalize(first))
    if verb is not None:
        return verb.parse(verb, rest, vocab)
    severity = vocab.find_severity(first)
    if severity is not None:
        return Declare(severity, args.title(rest, vocab))
    raise _unknown_first_word(first, rest, text, vocab)


def _unknown_first_word(first: str, rest: str, text: str, vocab: Vocabulary) -> UsageError:
    severities = codes(vocab.severity_names())
    if args.looks_like_severity(first):  # "SEV9 db down": a severity this policy lacks
        message = (
            f"Unknown severity {code(first)}. Use one of: {severities} "
            f"— for example {example(vocab, rest)}."
        )
    else:  # "Payment down": the severity was forgotten, or a verb misspelled
        message = f"{code(first)} is not a severity or a command."
        verb = suggest(first, VERBS)
        if verb is not None:
            message += f" Did you mean `/incident {verb}`?"
        message += (
            f" To declare an incident, start with a severity: {severities} "
            f"— for example {example(vocab, text)}."
        )
    return UsageError(f"{message} Commands: {codes(VERBS)} (`/incident help` explains them).")


def help_text(vocab: Vocabulary) -> str:
    """Usage of ``/incident`` as Slack mrkdwn, with the policy's words."""

    def lines(in_incident: bool) -> list[str]:
        forms = [] if in_incident else list(_FORMS)
        for v in _TABLE:
            if v.in_incident == in_incident:
                forms += [(v.usage, v.help), *v.more]
        return [f"• `{form}` — {what}" for form, what in forms]

    severities = []
    for sev in vocab.severity_names():
        aliases = vocab.aliases(sev)
        severities.append(f"`{name(sev)}`" + (f" (also {codes(aliases)})" if aliases else ""))
    parts = [
        "*Declare and find incidents*",
        *lines(in_incident=False),
        "",
        "*Inside an incident channel*",
        *lines(in_incident=True),
        "",
        f"*Severities:* {', '.join(severities) if severities else '(none defined)'}",
        f"*Statuses:* {codes(vocab.statuses)}",
        f"*Roles:* {codes(vocab.roles)}",
        "",
        f"Example: {example(vocab)}. Mention people with the @ autocomplete.",
    ]
    return "\n".join(parts)
