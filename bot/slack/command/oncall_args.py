"""What `/incident oncall` takes: nothing or a schedule; or `override @person <from>
<until> [<schedule>[/<layer>]]`. Times stay text: the use case reads them in the
schedule's time zone."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bot.slack.command.arguments import _user
from bot.slack.command.objects import Command, OnCall, OnCallOverride, UsageError
from bot.slack.command.text import code, words
from bot.slack.command.vocabulary import Vocabulary

if TYPE_CHECKING:
    from bot.slack.command.verbs import Verb

OVERRIDE_USAGE = (
    "/incident oncall override @person &lt;from&gt; &lt;until&gt; "
    "[&lt;schedule&gt;[/&lt;layer&gt;]]"
)
EXAMPLE = "`/incident oncall override @ana 2026-12-24T18:00 2026-12-26T09:00`"
_WHEN = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{1,2}:\d{2})?")


def oncall(verb: Verb, rest: str, vocab: Vocabulary) -> Command:
    given = words(rest)
    if not given:
        return OnCall()
    if given[0].lower() != "override":
        if len(given) > 1:
            raise UsageError(
                f"`/incident oncall` takes at most a schedule (got {code(rest)}). "
                f"Use `{verb.usage}`, or {EXAMPLE}."
            )
        return OnCall(given[0])
    return _override(given[1:])


def _override(given: list[str]) -> Command:
    user = _user(given[0] if given else "", OVERRIDE_USAGE)
    times = given[1:3]
    if len(times) < 2:
        raise UsageError(f"Give when the override starts and ends, for example {EXAMPLE}.")
    for t in times:
        if not _WHEN.fullmatch(t):
            raise UsageError(
                f"{code(t)} is not a date and time; write 2026-12-24T18:00 (or a date, "
                f"2026-12-24, for its midnight), for example {EXAMPLE}."
            )
    where = given[3:]
    if len(where) > 1:
        raise UsageError(f"Too many words after the times; use `{OVERRIDE_USAGE}`.")
    schedule, _, layer = (where[0] if where else "").partition("/")
    return OnCallOverride(user, times[0], times[1], schedule or None, layer or None)
