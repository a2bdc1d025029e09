"""What each verb takes after it. Each parser returns its command object or raises a
UsageError that says what was wrong and what would work (verbs.py holds the table)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.slack.command.objects import (
    Command,
    Commander,
    Declare,
    Escalate,
    Help,
    Role,
    SetSeverity,
    SetStatus,
    Update,
    UsageError,
)
from bot.slack.command.text import (
    code,
    codes,
    example,
    example_severity,
    is_visible,
    name,
    split,
    words,
)
from bot.slack.command.vocabulary import Vocabulary
from bot.slack.mrkdwn import is_channel, is_special, mentioned_user, plain

if TYPE_CHECKING:
    from bot.slack.command.verbs import Verb

TITLE_MAX_LEN = 200
PUBLISH_FLAG = "--publish"

Arguments = Callable[["Verb", str, Vocabulary], Command]


def no_args(result: Command) -> Arguments:
    def parse(verb: Verb, rest: str, vocab: Vocabulary) -> Command:
        if rest:
            raise UsageError(
                f"`/incident {verb.name}` takes nothing after it (got {code(rest)}). "
                f"Use just `/incident {verb.name}`."
            )
        return result

    return parse


def looks_like_severity(word: str) -> bool:
    """``SEV9``, ``P0`` look like a severity; ``Payment`` is the start of a title."""
    return len(word) <= 12 and any(ch.isdigit() for ch in word)


def _severity(word: str, vocab: Vocabulary, usage: str, title: str) -> str:
    names = vocab.severity_names()
    if not word:
        raise UsageError(
            f"Missing severity. Use `{usage}` with one of: {codes(names)} "
            f"— for example {example(vocab, title)}."
        )
    found = vocab.find_severity(word)
    if found is None:
        example_title = title if looks_like_severity(word) else f"{word} {title}"
        raise UsageError(
            f"Unknown severity {code(word)}. Use one of: {codes(names)} "
            f"— for example {example(vocab, example_title)}."
        )
    return found


def title(rest: str, vocab: Vocabulary) -> str:
    title = " ".join(plain(rest).split())
    if not any(is_visible(c) for c in title):
        raise UsageError(
            f"Missing title: say what is broken after the severity — for example {example(vocab)}."
        )
    if len(title) > TITLE_MAX_LEN:
        raise UsageError(
            f"The title is {len(title)} characters; the limit is {TITLE_MAX_LEN}. "
            "Shorten it: details can go in `/incident update &lt;text&gt;` once the incident "
            "is declared."
        )
    return title


def declare(verb: Verb, rest: str, vocab: Vocabulary) -> Command:
    word, rest_title = split(rest)
    return Declare(_severity(word, vocab, verb.usage, rest_title), title(rest_title, vocab))


def update(verb: Verb, rest: str, vocab: Vocabulary) -> Command:
    flag, after_flag = split(rest)
    publish = flag == PUBLISH_FLAG
    if publish:
        rest = after_flag
    first, after = split(rest)
    status = vocab.find_status(first) if first else None
    text = after if status is not None else rest
    if not text and not publish:  # the publish form asks for the text itself
        after_status = f" after the status `{name(status)}`" if status else ""
        raise UsageError(
            f"Missing update text{after_status}. "
            f"Use `{verb.usage}` "
            "— for example `/incident update Rolled back the deploy, error rate falling`. "
            f"Statuses: {codes(vocab.statuses)}."
        )
    return Update(text=text, status=status, publish=publish)


def status(verb: Verb, rest: str, vocab: Vocabulary) -> Command:
    word, extra = split(rest)
    ex = name(vocab.statuses[1]) if len(vocab.statuses) > 1 else "identified"
    usage = f"Use one of: {codes(vocab.statuses)} — for example `/incident status {ex}`"
    if not word:
        raise UsageError(f"Missing status. {usage}.")
    found = vocab.find_status(word)
    if found is None:
        raise UsageError(f"Unknown status {code(word)}. {usage}.")
    if extra:
        raise UsageError(
            f"`/incident status` takes only the status (got {code(extra)} after it). "
            f"To post text as well, use `/incident update {name(found)} &lt;text&gt;`."
        )
    return SetStatus(found)


def severity(verb: Verb, rest: str, vocab: Vocabulary) -> Command:
    word, extra = split(rest)
    names = vocab.severity_names()
    usage = (
        f"Use one of: {codes(names)} — for example `/incident severity {example_severity(vocab)}`"
    )
    if not word:
        raise UsageError(f"Missing severity. {usage}.")
    found = vocab.find_severity(word)
    if found is None:
        raise UsageError(f"Unknown severity {code(word)}. {usage}.")
    if extra:
        raise UsageError(
            f"`/incident severity` takes only the severity (got {code(extra)} after it). "
            f"Use `/incident severity {name(found)}`; "
            "explain why with `/incident note &lt;text&gt;`."
        )
    return SetSeverity(found)


def _user(word: str, usage: str) -> str:
    """The Slack user ID from a mention, or a UsageError explaining how to mention."""
    user = mentioned_user(word)
    if user is not None:
        return user
    pick = "Pick the person from the @ autocomplete as you type, so Slack sends a real mention"
    if not word:
        raise UsageError(f"Missing person. Use `{usage}`. {pick}.")
    if is_channel(word):
        raise UsageError(f"{code(word)} is a channel, not a person. {pick}.")
    if is_special(word):
        raise UsageError(f"{code(word)} is a group, not one person. {pick}.")
    raise UsageError(f"I can't tell who {code(word)} is. {pick}: `{usage}`.")


def commander(verb: Verb, rest: str, vocab: Vocabulary) -> Command:
    word, extra = split(rest)
    user = _user(word, verb.usage)
    if extra:
        raise UsageError(
            f"`/incident commander` takes only the person (got {code(extra)} after it). "
            f"Use `{verb.usage}`."
        )
    return Commander(user)


def role(verb: Verb, rest: str, vocab: Vocabulary) -> Command:
    example_role = name(vocab.roles[0]) if vocab.roles else "scribe"
    roles = f"Roles: {codes(vocab.roles)} — for example `/incident role {example_role} @alice`"
    given = words(rest)
    if not given:
        raise UsageError(f"Missing role and person. Use `{verb.usage}`. {roles}.")
    found = vocab.find_role(given[0])
    if found is None:
        if len(given) > 2 and mentioned_user(given[-1]):
            joined = vocab.find_role("".join(given[:-1]))
            if joined is not None:
                person = code(given[-1]).strip("`")
                raise UsageError(
                    f"Write the role as one word: `/incident role {name(joined)} {person}`."
                )
        raise UsageError(f"Unknown role {code(given[0])}. {roles}.")
    people = [_user(w, verb.usage) for w in given[1:]] or [_user("", verb.usage)]
    return Role(found, people[0], tuple(people[1:]))


def required_text(ex: str, make: Callable[[str], Command]) -> Arguments:
    def parse(verb: Verb, rest: str, vocab: Vocabulary) -> Command:
        if not rest:
            raise UsageError(
                f"Missing text after `{verb.name}`. Use `{verb.usage}` — for example `{ex}`."
            )
        return make(rest)

    return parse


def escalate(verb: Verb, rest: str, vocab: Vocabulary) -> Command:
    """`[to] [<level>] [<reason>]`: the longest first given naming a level are the level
    (after `to` they must); the rest is the reason."""
    given = rest.split()
    aimed = bool(given) and given[0].lower() == "to"
    if aimed:
        given = given[1:]
    for n in range(len(given), 0, -1):
        level = vocab.find_level(" ".join(given[:n]))
        if level is not None:
            return Escalate(" ".join(given[n:]) or None, level)
    if aimed:
        names = ", ".join(code(name) for name in vocab.levels) or "none"
        said = code(" ".join(given)) if given else "nothing"
        raise UsageError(f"No escalation level is named {said}. Levels: {names}.")
    return Escalate(rest or None)


def help_(verb: Verb, rest: str, vocab: Vocabulary) -> Command:
    # Lenient on purpose: "/incident help update" should still show the help.
    return Help()
