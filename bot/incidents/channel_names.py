"""Incident channel names that always satisfy Slack's rules.

Slack accepts a channel name of 1-80 characters, lowercase ``a-z``, ``0-9``, ``-``
and ``_``, not only punctuation (``conversations.create`` answers
``invalid_name_*`` otherwise). Everything here returns such a name, whatever the
title: accents are stripped (``é`` -> ``e``), letters of other scripts are
transliterated by Unidecode (``Сбой оплаты`` -> ``sboi-oplaty``, ``決済障害`` ->
``jue-ji-zhang-hai``), other characters become ``-``, and an empty slug
(emoji-only, punctuation-only titles) is dropped or replaced by ``incident``;
the date in the pattern and ``with_suffix`` keep names unique.

No Slack imports, no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from unidecode import unidecode

__all__ = [
    "FALLBACK_SLUG",
    "MAX_CHANNEL_NAME_LEN",
    "PLACEHOLDERS",
    "channel_name",
    "is_valid_channel_name",
    "slugify",
    "with_suffix",
]

MAX_CHANNEL_NAME_LEN = 80
FALLBACK_SLUG = "incident"
PLACEHOLDERS = frozenset({"date", "date_dashed", "time", "slug", "number", "severity"})

_VALID = re.compile(r"[a-z0-9_-]{1,80}")
_PLACEHOLDER = re.compile(r"(\{[^{}]*\})")

# Latin letters NFKD does not decompose into ASCII.
_TRANSLIT = str.maketrans(
    {
        "ø": "o",
        "æ": "ae",
        "œ": "oe",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "ł": "l",
        "ı": "i",
        "ħ": "h",
        "ŧ": "t",
        "ŋ": "n",
    }
)


def is_valid_channel_name(name: str) -> bool:
    """True if Slack accepts ``name`` for a new channel."""
    return _VALID.fullmatch(name) is not None and re.search(r"[a-z0-9]", name) is not None


def _ascii(text: str, keep: str) -> str:
    """Fold to lowercase ASCII; each run of characters outside ``a-z0-9`` + keep -> ``-``."""
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    text = "".join(c for c in text if not unicodedata.combining(c)).translate(_TRANSLIT)
    # Other scripts (Cyrillic, CJK, Greek, ...) by a kept table, not by hand; what it
    # cannot spell (emoji) it drops.
    text = unidecode(text, errors="ignore").lower()
    return re.sub(rf"[^a-z0-9{re.escape(keep)}]+", "-", text)


def _shorten(slug: str, limit: int) -> str:
    """Cut ``slug`` to ``limit``, at a ``-`` if that keeps at least half of it."""
    if len(slug) <= limit:
        return slug
    cut = slug[:limit]
    if slug[limit] != "-":
        boundary = cut.rfind("-")
        if boundary >= limit // 2:
            cut = cut[:boundary]
    return cut.strip("-_")


def _slug(text: str) -> str:
    return _ascii(text, "").strip("-")


def slugify(title: str, max_len: int = MAX_CHANNEL_NAME_LEN) -> str:
    """``"Paiement échoué: API 500!"`` -> ``"paiement-echoue-api-500"``.

    At most ``max_len`` characters, cut at a word boundary when possible; never
    empty (``"incident"`` when nothing of the title survives).
    """
    if max_len < 1:
        raise ValueError(f"max_len must be at least 1, got {max_len}")
    return _shorten(_slug(title) or FALLBACK_SLUG, max_len)


def _tidy(name: str, max_len: int) -> str:
    """Collapse ``-`` runs, strip separators at the ends, cut to ``max_len``."""
    name = re.sub(r"-{2,}", "-", name).strip("-_")
    return name[:max_len].rstrip("-_")


def channel_name(
    pattern: str,
    *,
    title: str,
    when: datetime,
    number: int,
    severity: str,
    max_len: int = MAX_CHANNEL_NAME_LEN,
) -> str:
    """Fill the policy's ``pattern`` and return a valid channel name.

    Placeholders: ``{date}`` (YYYYMMDD), ``{date_dashed}`` (YYYY-MM-DD), ``{time}``
    (HHmm), ``{slug}`` (from ``title``), ``{number}``, ``{severity}`` (slugified).
    ``when`` is already in the policy's time zone. The slug is shortened so the
    whole name fits ``max_len``. Literal text in the pattern is folded like a slug
    (lowercase, other characters -> ``-``). An unknown placeholder is a
    ``ValueError`` (policy validation should report it first).
    """
    if not 1 <= max_len <= MAX_CHANNEL_NAME_LEN:
        raise ValueError(f"max_len must be 1..{MAX_CHANNEL_NAME_LEN}, got {max_len}")
    values = {
        "date": when.strftime("%Y%m%d"),
        "date_dashed": when.strftime("%Y-%m-%d"),
        "time": when.strftime("%H%M"),
        "number": str(number),
        "severity": _slug(severity),
    }
    fixed: list[str | None] = []  # None marks a {slug}
    for piece in _PLACEHOLDER.split(pattern):
        if piece.startswith("{") and piece.endswith("}"):
            key = piece[1:-1].strip()
            if key not in PLACEHOLDERS:
                known = ", ".join(f"{{{p}}}" for p in sorted(PLACEHOLDERS))
                raise ValueError(
                    f"unknown placeholder {piece} in channel name pattern {pattern!r}; use {known}"
                )
            fixed.append(None if key == "slug" else values[key])
        else:
            fixed.append(_ascii(piece, "_-"))

    def render(slug: str) -> str:
        return _tidy("".join(slug if p is None else p for p in fixed), max_len)

    slots = fixed.count(None)
    title_slug = _slug(title)
    if slots:
        if not title_slug and re.search(r"[a-z]", render("")):
            # Nothing of the title survives; the rest of the pattern names it well.
            title_slug = ""
        else:
            title_slug = title_slug or FALLBACK_SLUG
            # Budget: what is left once the fixed parts are in, shared by each {slug}.
            budget = (max_len - sum(len(p) for p in fixed if p is not None)) // slots
            title_slug = _shorten(title_slug, budget) if budget > 0 else ""
    name = render(title_slug)
    if not is_valid_channel_name(name):
        name = _tidy(f"{FALLBACK_SLUG}-{values['date']}", max_len)
    return name


def with_suffix(name: str, n: int, max_len: int = MAX_CHANNEL_NAME_LEN) -> str:
    """``"incident-20261123-db-down"``, 2 -> ``"incident-20261123-db-down-2"``.

    For a taken name: the base is trimmed so the result stays within ``max_len``.
    Pass the original name each time, not the previous attempt.
    """
    if n < 1:
        raise ValueError(f"suffix must be a positive number, got {n}")
    suffix = f"-{n}"
    if len(suffix) >= max_len:
        raise ValueError(f"suffix {suffix!r} leaves no room for a name within {max_len}")
    base = _tidy(_ascii(name, "_-"), max_len - len(suffix))
    return (base or FALLBACK_SLUG[: max_len - len(suffix)]) + suffix
