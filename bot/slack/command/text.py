"""Tokenising the command text, and quoting it back in messages without ever letting
what was typed (or a policy word) break out of inline code or ping anyone."""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Sequence

from bot.policy.fields import normalize
from bot.slack.command.vocabulary import Vocabulary
from bot.slack.mrkdwn import escape, plain

EXAMPLE_TITLE = "Payment processing down"


def clean(text: str) -> str:
    """Drop control characters (except newline and tab) and lone surrogates; strip."""
    text = text.replace("\r\n", "\n")
    return "".join(
        c for c in text if c in "\n\t" or unicodedata.category(c) not in ("Cc", "Cs")
    ).strip()


# A word is a run of non-space characters, where Slack markup such as
# "<@U1|Alice Smith>" counts as one piece even if it holds spaces.
_WORD = r"(?:<[^<>]*>|\S)++"
_FIRST_WORD = re.compile(rf"\s*({_WORD})(.*)", re.DOTALL)


def split(text: str) -> tuple[str, str]:
    """First word and the stripped rest."""
    m = _FIRST_WORD.match(text)
    if m is None:
        return "", ""
    return m.group(1), m.group(2).strip()


def words(text: str) -> list[str]:
    return re.findall(_WORD, text)


def is_visible(c: str) -> bool:
    cat = unicodedata.category(c)
    return not (cat.startswith("Z") or cat in ("Cc", "Cf", "Cs", "Cn") or c.isspace())


def code(text: str, limit: int = 40) -> str:
    """Echo what the user typed as inline code that cannot break out or ping anyone."""
    flat = " ".join(plain(text).replace("`", "'").split())
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return f"`{escape(flat)}`"


def name(word: str) -> str:
    """A policy word (severity, status, role) made safe inside inline code."""
    return escape(word.replace("`", "'"))


def codes(names: Sequence[str]) -> str:
    return ", ".join(f"`{name(n)}`" for n in names) if names else "(none defined)"


def example_severity(vocab: Vocabulary) -> str:
    names = vocab.severity_names()
    return name(names[0]) if names else "SEV1"


def example(vocab: Vocabulary, title: str = EXAMPLE_TITLE, verb: str = "") -> str:
    """A declaration that works; with `verb` (`drill`), spelled with it: followed as
    written, the example must do what the user was trying to do."""
    title = " ".join(plain(title).replace("`", "'").split())[:60] or EXAMPLE_TITLE
    spelled = f"{verb} " if verb else ""
    return f"`/incident {spelled}{example_severity(vocab)} {escape(title)}`"


def suggest(word: str, candidates: Sequence[str]) -> str | None:
    match = difflib.get_close_matches(normalize(word), list(candidates), n=1, cutoff=0.75)
    return match[0] if match else None
