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

No Slack imports, no I/O.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeAlias

from bot.incidents.errors import IncidentError

__all__ = [
    "IN_INCIDENT",
    "TITLE_MAX_LEN",
    "VERBS",
    "Ack",
    "Command",
    "Commander",
    "Declare",
    "Escalate",
    "Help",
    "ListIncidents",
    "Note",
    "OpenDeclareModal",
    "Postmortem",
    "Resolve",
    "Role",
    "SetSeverity",
    "SetStatus",
    "Timeline",
    "Update",
    "UsageError",
    "Vocabulary",
    "help_text",
    "normalise",
    "parse",
]

TITLE_MAX_LEN = 200


def normalise(word: str) -> str:
    """Lowercase and drop spaces, ``-`` and ``_``: ``"SEV-1"`` -> ``"sev1"``."""
    return re.sub(r"[\s\-_]+", "", word).casefold()


@dataclass(frozen=True)
class Vocabulary:
    """The words a policy defines.

    ``severities`` maps a normalised alias to the canonical severity name
    (``{"sev1": "SEV1", "p1": "SEV1"}``). Canonical names always match too, and keys
    are normalised again on lookup, so a key written ``"SEV-1"`` still works.
    """

    severities: Mapping[str, str]
    statuses: Sequence[str]
    roles: Sequence[str]

    def severity_names(self) -> list[str]:
        """Canonical severity names, in the order the mapping first names them."""
        return list(dict.fromkeys(self.severities.values()))

    def find_severity(self, word: str) -> str | None:
        key = normalise(word)
        if not key:
            return None
        for alias, canonical in self.severities.items():
            if key == normalise(alias) or key == normalise(canonical):
                return canonical
        return None

    def find_status(self, word: str) -> str | None:
        return _find(word, self.statuses)

    def find_role(self, word: str) -> str | None:
        return _find(word, self.roles)


def _find(word: str, names: Sequence[str]) -> str | None:
    key = normalise(word)
    if not key:
        return None
    for name in names:
        if normalise(name) == key:
            return name
    return None


# --- command objects -------------------------------------------------------------


@dataclass(frozen=True)
class OpenDeclareModal:
    pass


@dataclass(frozen=True)
class Declare:
    severity: str
    title: str


@dataclass(frozen=True)
class ListIncidents:
    pass


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class Update:
    text: str
    status: str | None = None


@dataclass(frozen=True)
class SetStatus:
    status: str


@dataclass(frozen=True)
class SetSeverity:
    severity: str


@dataclass(frozen=True)
class Ack:
    pass


@dataclass(frozen=True)
class Commander:
    user_id: str


@dataclass(frozen=True)
class Role:
    role: str
    user_id: str


@dataclass(frozen=True)
class Note:
    text: str


@dataclass(frozen=True)
class Escalate:
    reason: str | None = None


@dataclass(frozen=True)
class Resolve:
    summary: str


@dataclass(frozen=True)
class Timeline:
    pass


@dataclass(frozen=True)
class Postmortem:
    pass


Command: TypeAlias = (
    OpenDeclareModal
    | Declare
    | ListIncidents
    | Help
    | Update
    | SetStatus
    | SetSeverity
    | Ack
    | Commander
    | Role
    | Note
    | Escalate
    | Resolve
    | Timeline
    | Postmortem
)

IN_INCIDENT: frozenset[type[Command]] = frozenset(
    {
        Update,
        SetStatus,
        SetSeverity,
        Ack,
        Commander,
        Role,
        Note,
        Escalate,
        Resolve,
        Timeline,
        Postmortem,
    }
)


class UsageError(IncidentError):
    """A mistake in the command text; ``message`` is mrkdwn ready to show the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- helpers ---------------------------------------------------------------------

_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^<>]*)?>")
_MARKUP = re.compile(r"<([^<>]*)>")
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))
_EXAMPLE_TITLE = "Payment processing down"


def _clean(text: str) -> str:
    """Drop control characters (except newline and tab) and lone surrogates; strip."""
    text = text.replace("\r\n", "\n")
    return "".join(
        c for c in text if c in "\n\t" or unicodedata.category(c) not in ("Cc", "Cs")
    ).strip()


# A word is a run of non-space characters, where Slack markup such as
# "<@U1|Alice Smith>" counts as one piece even if it holds spaces.
_WORD = r"(?:<[^<>]*>|\S)++"
_FIRST_WORD = re.compile(rf"\s*({_WORD})(.*)", re.DOTALL)


def _split(text: str) -> tuple[str, str]:
    """First word and the stripped rest."""
    m = _FIRST_WORD.match(text)
    if m is None:
        return "", ""
    return m.group(1), m.group(2).strip()


def _words(text: str) -> list[str]:
    return re.findall(_WORD, text)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _code(text: str, limit: int = 40) -> str:
    """Echo what the user typed as inline code that cannot break out or ping anyone."""
    flat = " ".join(_plain(text).replace("`", "'").split())
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return f"`{_escape(flat)}`"


def _codes(names: Sequence[str]) -> str:
    return ", ".join(f"`{_name(n)}`" for n in names) if names else "(none defined)"


def _name(word: str) -> str:
    """A policy word (severity, status, role) made safe inside inline code."""
    return _escape(word.replace("`", "'"))


def _is_visible(c: str) -> bool:
    cat = unicodedata.category(c)
    return not (cat.startswith("Z") or cat in ("Cc", "Cf", "Cs", "Cn") or c.isspace())


def _plain(text: str) -> str:
    """Decode Slack markup and escapes into plain text: ``<@U1|al>`` -> ``@al``."""

    def repl(m: re.Match[str]) -> str:
        inner = m.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            return label if label.startswith("@") else "@" + (label or target[1:])
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!"):
            if label:
                return label
            return "@" + target[1:].split("^")[0]
        return label or target

    text = _MARKUP.sub(repl, text)
    for escaped, char in _ENTITIES:
        text = text.replace(escaped, char)
    return text


def _example_severity(vocab: Vocabulary) -> str:
    names = vocab.severity_names()
    return _name(names[0]) if names else "SEV1"


def _example(vocab: Vocabulary, title: str = _EXAMPLE_TITLE) -> str:
    title = " ".join(_plain(title).replace("`", "'").split())[:60] or _EXAMPLE_TITLE
    return f"`/incident {_example_severity(vocab)} {_escape(title)}`"


def _suggest(word: str, candidates: Sequence[str]) -> str | None:
    match = difflib.get_close_matches(normalise(word), list(candidates), n=1, cutoff=0.75)
    return match[0] if match else None


# --- verbs -----------------------------------------------------------------------

_Handler = Callable[[str, str, Vocabulary], Command]


def _no_args(verb: str, result: Command) -> _Handler:
    def handler(_verb: str, rest: str, vocab: Vocabulary) -> Command:
        if rest:
            raise UsageError(
                f"`/incident {verb}` takes nothing after it (got {_code(rest)}). "
                f"Use just `/incident {verb}`."
            )
        return result

    return handler


def _looks_like_severity(word: str) -> bool:
    """``SEV9``, ``P0`` look like a severity; ``Payment`` is the start of a title."""
    return len(word) <= 12 and any(ch.isdigit() for ch in word)


def _severity(word: str, vocab: Vocabulary, usage: str, title: str) -> str:
    names = vocab.severity_names()
    if not word:
        raise UsageError(
            f"Missing severity. Use `{usage}` with one of: {_codes(names)} "
            f"— for example {_example(vocab, title)}."
        )
    found = vocab.find_severity(word)
    if found is None:
        example_title = title if _looks_like_severity(word) else f"{word} {title}"
        raise UsageError(
            f"Unknown severity {_code(word)}. Use one of: {_codes(names)} "
            f"— for example {_example(vocab, example_title)}."
        )
    return found


def _title(rest: str, vocab: Vocabulary) -> str:
    title = " ".join(_plain(rest).split())
    if not any(_is_visible(c) for c in title):
        raise UsageError(
            f"Missing title: say what is broken after the severity — for example {_example(vocab)}."
        )
    if len(title) > TITLE_MAX_LEN:
        raise UsageError(
            f"The title is {len(title)} characters; the limit is {TITLE_MAX_LEN}. "
            "Shorten it: details can go in `/incident update &lt;text&gt;` once the incident "
            "is declared."
        )
    return title


def _declare(_verb: str, rest: str, vocab: Vocabulary) -> Command:
    word, title = _split(rest)
    severity = _severity(word, vocab, "/incident declare &lt;severity&gt; &lt;title&gt;", title)
    return Declare(severity, _title(title, vocab))


def _update(_verb: str, rest: str, vocab: Vocabulary) -> Command:
    first, after = _split(rest)
    status = vocab.find_status(first) if first else None
    text = after if status is not None else rest
    if not text:
        after_status = f" after the status `{_name(status)}`" if status else ""
        raise UsageError(
            f"Missing update text{after_status}. "
            "Use `/incident update [&lt;status&gt;] &lt;text&gt;` "
            "— for example `/incident update Rolled back the deploy, error rate falling`. "
            f"Statuses: {_codes(vocab.statuses)}."
        )
    return Update(text=text, status=status)


def _status(_verb: str, rest: str, vocab: Vocabulary) -> Command:
    word, extra = _split(rest)
    example = _name(vocab.statuses[1]) if len(vocab.statuses) > 1 else "identified"
    usage = f"Use one of: {_codes(vocab.statuses)} — for example `/incident status {example}`"
    if not word:
        raise UsageError(f"Missing status. {usage}.")
    status = vocab.find_status(word)
    if status is None:
        raise UsageError(f"Unknown status {_code(word)}. {usage}.")
    if extra:
        raise UsageError(
            f"`/incident status` takes only the status (got {_code(extra)} after it). "
            f"To post text as well, use `/incident update {_name(status)} &lt;text&gt;`."
        )
    return SetStatus(status)


def _set_severity(_verb: str, rest: str, vocab: Vocabulary) -> Command:
    word, extra = _split(rest)
    names = vocab.severity_names()
    usage = (
        f"Use one of: {_codes(names)} — for example `/incident severity {_example_severity(vocab)}`"
    )
    if not word:
        raise UsageError(f"Missing severity. {usage}.")
    severity = vocab.find_severity(word)
    if severity is None:
        raise UsageError(f"Unknown severity {_code(word)}. {usage}.")
    if extra:
        raise UsageError(
            f"`/incident severity` takes only the severity (got {_code(extra)} after it). "
            f"Use `/incident severity {_name(severity)}`; "
            "explain why with `/incident note &lt;text&gt;`."
        )
    return SetSeverity(severity)


def _user(word: str, usage: str) -> str:
    """The Slack user ID from a mention, or a UsageError explaining how to mention."""
    m = _MENTION.fullmatch(word)
    if m:
        return m.group(1)
    pick = "Pick the person from the @ autocomplete as you type, so Slack sends a real mention"
    if not word:
        raise UsageError(f"Missing person. Use `{usage}`. {pick}.")
    if word.startswith("<#"):
        raise UsageError(f"{_code(word)} is a channel, not a person. {pick}.")
    if word.startswith("<!"):
        raise UsageError(f"{_code(word)} is a group, not one person. {pick}.")
    raise UsageError(f"I can't tell who {_code(word)} is. {pick}: `{usage}`.")


def _commander(_verb: str, rest: str, vocab: Vocabulary) -> Command:
    usage = "/incident commander @person"
    word, extra = _split(rest)
    user = _user(word, usage)
    if extra:
        raise UsageError(
            f"`/incident commander` takes only the person (got {_code(extra)} after it). "
            f"Use `{usage}`."
        )
    return Commander(user)


def _role(_verb: str, rest: str, vocab: Vocabulary) -> Command:
    example_role = _name(vocab.roles[0]) if vocab.roles else "scribe"
    usage = "/incident role &lt;role&gt; @person"
    roles = f"Roles: {_codes(vocab.roles)} — for example `/incident role {example_role} @alice`"
    words = _words(rest)
    if not words:
        raise UsageError(f"Missing role and person. Use `{usage}`. {roles}.")
    role = vocab.find_role(words[0])
    if role is None:
        if len(words) > 2 and _MENTION.fullmatch(words[-1]):
            joined = vocab.find_role("".join(words[:-1]))
            if joined is not None:
                person = _code(words[-1]).strip("`")
                raise UsageError(
                    f"Write the role as one word: `/incident role {_name(joined)} {person}`."
                )
        raise UsageError(f"Unknown role {_code(words[0])}. {roles}.")
    user = _user(words[1] if len(words) > 1 else "", usage)
    if len(words) > 2:
        raise UsageError(
            f"`/incident role` takes a role and one person (got {_code(' '.join(words[2:]))} "
            f"after them). Use `{usage}`, once per person."
        )
    return Role(role, user)


def _required_text(usage: str, example: str, make: Callable[[str], Command]) -> _Handler:
    def handler(verb: str, rest: str, vocab: Vocabulary) -> Command:
        if not rest:
            raise UsageError(
                f"Missing text after `{verb}`. Use `{usage}` — for example `{example}`."
            )
        return make(rest)

    return handler


def _escalate(_verb: str, rest: str, vocab: Vocabulary) -> Command:
    return Escalate(rest or None)


def _help(_verb: str, rest: str, vocab: Vocabulary) -> Command:
    # Lenient on purpose: "/incident help update" should still show the help.
    return Help()


_HANDLERS: dict[str, _Handler] = {
    "declare": _declare,
    "list": _no_args("list", ListIncidents()),
    "help": _help,
    "update": _update,
    "status": _status,
    "severity": _set_severity,
    "ack": _no_args("ack", Ack()),
    "commander": _commander,
    "role": _role,
    "note": _required_text(
        "/incident note &lt;text&gt;", "/incident note Rolled back to v1.42", Note
    ),
    "escalate": _escalate,
    "resolve": _required_text(
        "/incident resolve &lt;summary&gt;",
        "/incident resolve Rolled back the bad deploy; error rate normal",
        Resolve,
    ),
    "timeline": _no_args("timeline", Timeline()),
    "postmortem": _no_args("postmortem", Postmortem()),
}

VERBS: tuple[str, ...] = tuple(_HANDLERS)
"""Every verb, lowercase. A severity alias equal to one of these is shadowed by it."""


def parse(text: str, vocab: Vocabulary) -> Command:
    """Parse the text after ``/incident``; raise :class:`UsageError` on any mistake."""
    text = _clean(text)
    if not text:
        return OpenDeclareModal()
    first, rest = _split(text)
    handler = _HANDLERS.get(normalise(first))
    if handler is not None:
        return handler(normalise(first), rest, vocab)
    severity = vocab.find_severity(first)
    if severity is not None:
        return Declare(severity, _title(rest, vocab))
    raise _unknown_first_word(first, rest, text, vocab)


def _unknown_first_word(first: str, rest: str, text: str, vocab: Vocabulary) -> UsageError:
    severities = _codes(vocab.severity_names())
    if _looks_like_severity(first):  # "SEV9 db down": a severity this policy lacks
        message = (
            f"Unknown severity {_code(first)}. Use one of: {severities} "
            f"— for example {_example(vocab, rest)}."
        )
    else:  # "Payment down": the severity was forgotten, or a verb misspelled
        message = f"{_code(first)} is not a severity or a command."
        verb = _suggest(first, VERBS)
        if verb is not None:
            message += f" Did you mean `/incident {verb}`?"
        message += (
            f" To declare an incident, start with a severity: {severities} "
            f"— for example {_example(vocab, text)}."
        )
    return UsageError(f"{message} Commands: {_codes(VERBS)} (`/incident help` explains them).")


# --- help ------------------------------------------------------------------------

_USAGE: tuple[tuple[str, str], ...] = (
    ("/incident", "open the form to declare an incident"),
    ("/incident &lt;severity&gt; &lt;title&gt;", "declare an incident at once"),
    ("/incident declare &lt;severity&gt; &lt;title&gt;", "the same, spelled out"),
    ("/incident list", "open incidents, newest first"),
    ("/incident help", "this help"),
)
_USAGE_IN_INCIDENT: tuple[tuple[str, str], ...] = (
    (
        "/incident update [&lt;status&gt;] &lt;text&gt;",
        "post a status update; restarts the update clock",
    ),
    ("/incident status &lt;status&gt;", "change the status"),
    ("/incident severity &lt;severity&gt;", "change severity; reminders and escalation re-planned"),
    ("/incident ack", "acknowledge a page; stops that level's escalation timer"),
    ("/incident commander @person", "hand over command"),
    ("/incident role &lt;role&gt; @person", "assign a role"),
    ("/incident note &lt;text&gt;", "add an entry to the timeline"),
    ("/incident escalate [&lt;reason&gt;]", "escalate to the next level now"),
    ("/incident resolve &lt;summary&gt;", "resolve: reminders and escalation stop"),
    ("/incident timeline", "the timeline so far"),
    ("/incident postmortem", "the postmortem draft"),
)


def help_text(vocab: Vocabulary) -> str:
    """Usage of ``/incident`` as Slack mrkdwn, with the policy's words."""

    def lines(usage: Sequence[tuple[str, str]]) -> list[str]:
        return [f"• `{form}` — {what}" for form, what in usage]

    severities = []
    for name in vocab.severity_names():
        aliases = sorted(
            {
                a
                for a, c in vocab.severities.items()
                if c == name and normalise(a) != normalise(name)
            }
        )
        severities.append(f"`{_name(name)}`" + (f" (also {_codes(aliases)})" if aliases else ""))
    parts = [
        "*Declare and find incidents*",
        *lines(_USAGE),
        "",
        "*Inside an incident channel*",
        *lines(_USAGE_IN_INCIDENT),
        "",
        f"*Severities:* {', '.join(severities) if severities else '(none defined)'}",
        f"*Statuses:* {_codes(vocab.statuses)}",
        f"*Roles:* {_codes(vocab.roles)}",
        "",
        f"Example: {_example(vocab)}. Mention people with the @ autocomplete.",
    ]
    return "\n".join(parts)
