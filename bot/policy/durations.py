"""Durations as policies write them: ``30s``, ``15m``, ``2h``, ``1d`` and combinations
such as ``1h30m``, optionally followed by ``in business hours`` (a `BusinessDelta`, counted
in the policy's business hours only). Nothing else is accepted, so that a typo never
becomes a silent default."""

from __future__ import annotations

import json
import re
from datetime import timedelta

__all__ = [
    "BUSINESS_SUFFIX",
    "DURATION_HELP",
    "DURATION_PATTERN",
    "BusinessDelta",
    "format_duration",
    "parse_duration",
]

_UNITS: tuple[tuple[str, int], ...] = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))

BUSINESS_SUFFIX = " in business hours"
_PLAIN = r"(?=\d)(\d+d)?(\d+h)?(\d+m)?(\d+s)?"
#: The accepted form, as a regular expression (also used in the JSON Schema).
DURATION_PATTERN = rf"^{_PLAIN}({BUSINESS_SUFFIX})?$"
_RE = re.compile(_PLAIN)


class BusinessDelta(timedelta):
    """A duration that counts business hours only (``2h in business hours``)."""

    __slots__ = ()


#: What to tell someone who wrote something else.
DURATION_HELP = "write 30s, 15m, 2h or 1d"


def _show(value: object) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def parse_duration(text: str) -> timedelta:
    """Parse ``30s``, ``15m``, ``2h``, ``1d`` or a combination in that order (``1h30m``).

    Raises ValueError, saying what is accepted, for anything else: ``15 minutes``,
    ``15``, ``-5m``, ``1.5h``, ``0m``, the empty string, or a value that is not a string.
    """
    if not isinstance(text, str):
        raise ValueError(f"{_show(text)} is not a duration; {DURATION_HELP}")
    plain = text.strip()
    business = plain.endswith(BUSINESS_SUFFIX)
    if business:
        plain = plain[: -len(BUSINESS_SUFFIX)].strip()
    match = _RE.fullmatch(plain)
    if match is None:
        raise ValueError(
            f"{_show(text)} is not a duration; {DURATION_HELP} (or combined, like 1h30m)"
        )
    seconds = 0
    for (_, size), group in zip(_UNITS, match.groups(), strict=True):
        if group:
            seconds += int(group[:-1]) * size
    if seconds == 0:
        raise ValueError(f"{_show(text)} is zero; a duration must be longer than that")
    return BusinessDelta(seconds=seconds) if business else timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The inverse of :func:`parse_duration`: ``timedelta(hours=1, minutes=30)`` -> ``1h30m``.

    Fractions of a second are dropped; zero is ``0s``; negative durations raise ValueError.
    """
    seconds = int(value.total_seconds())
    if seconds < 0:
        raise ValueError(f"negative duration: {value}")
    if seconds == 0:
        return "0s"
    parts: list[str] = []
    for unit, size in _UNITS:
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) + (BUSINESS_SUFFIX if isinstance(value, BusinessDelta) else "")
