"""`/incident action <text> [@owner] [due <when>]` and `/incident actions [done AI-n]`:
the person is a real mention (from the @ autocomplete), the due date is read by the
use case (bot/incidents/due_dates.py), on the incident's clock and time zone."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bot.slack.command.objects import Actions, AddAction, Command, UsageError
from bot.slack.command.text import code
from bot.slack.command.vocabulary import Vocabulary
from bot.slack.mrkdwn import is_channel, is_special, mentioned_user, plain

if TYPE_CHECKING:
    from bot.slack.command.verbs import Verb

EXAMPLE = "`/incident action Add a canary stage to deploys @dana due 2026-06-30`"
_DUE = re.compile(r"(?:^|\s)due\s+(\S+(?:\s+\d{1,2}:\d{2})?)\s*$", re.IGNORECASE)


def action(verb: Verb, rest: str, vocab: Vocabulary) -> Command:
    due = None
    m = _DUE.search(rest)
    if m:
        due, rest = m.group(1), rest[: m.start()]
    owner = None
    kept = []
    pick = "Pick the owner from the @ autocomplete as you type"
    for word in rest.split():
        if is_channel(word):
            raise UsageError(f"{code(word)} is a channel, not a person. {pick}: {EXAMPLE}.")
        if is_special(word):
            raise UsageError(f"{code(word)} is a group, not one person. {pick}: {EXAMPLE}.")
        if word.startswith("<@"):
            user = mentioned_user(word)
            if user is None:
                raise UsageError(f"I can't tell who {code(word)} is. {pick}: {EXAMPLE}.")
            if owner is not None:
                raise UsageError(
                    f"An action item has one owner (got a second, {code(word)}). "
                    f"For example {EXAMPLE}."
                )
            owner = user
        elif word.startswith("@") and len(word) > 1:
            raise UsageError(
                f"I can't tell who {code(word)} is: pick the owner from the @ autocomplete "
                f"as you type, so Slack sends a real mention. For example {EXAMPLE}."
            )
        else:
            kept.append(word)
    text = plain(" ".join(kept)).strip()
    if not text:
        raise UsageError(f"Say what is to be done. Use `{verb.usage}` — for example {EXAMPLE}.")
    return AddAction(text, owner, due)


def actions(verb: Verb, rest: str, vocab: Vocabulary) -> Command:
    words = rest.split()
    if not words:
        return Actions()
    if words[0].lower() == "done" and len(words) == 2:
        number = words[1].upper().removeprefix("AI-")
        if number.isdigit():
            return Actions(done=int(number))
    raise UsageError(
        f"`/incident actions` lists the action items; `/incident actions done AI-3` marks "
        f"one done (got {code(rest)})."
    )
