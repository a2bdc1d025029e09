"""When an action item is due, as people write it: a date (2026-06-30: by the end of
that day in the policy's time zone), a date and time (2026-06-30 14:00), or a delay
from now (3d, 2w, 12h, tomorrow). Anything else is refused with what would work."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.incidents.errors import IncidentError
from bot.policy.durations import parse_duration

DUE_HELP = "write a date (2026-06-30), a date and time (2026-06-30 14:00) or a delay (3d, 2w)"
END_OF_DAY = time(23, 59)


def parse_due(text: str, now: datetime, tz: str, example: str) -> datetime:
    """The due instant; IncidentError (field "due") if unreadable or not in the future."""
    words = text.strip().lower()
    zone = ZoneInfo(tz)
    when: datetime | None = None
    if words == "tomorrow":
        when = datetime.combine(now.astimezone(zone).date() + timedelta(days=1), END_OF_DAY, zone)
    elif m := re.fullmatch(r"(\d+)w", words):
        when = now + timedelta(weeks=int(m.group(1)))
    elif m := re.fullmatch(r"(\d{4}-\d{2}-\d{2})(?:[ t](\d{1,2}:\d{2}))?", words):
        try:
            day = date.fromisoformat(m.group(1))
            at = time.fromisoformat(m.group(2).zfill(5)) if m.group(2) else END_OF_DAY
        except ValueError:
            raise IncidentError(
                f"`{text}` is not a date; {DUE_HELP}, e.g. {example}.", field="due"
            ) from None
        when = datetime.combine(day, at, zone)
    else:
        try:
            when = now + parse_duration(words)
        except ValueError:
            raise IncidentError(
                f"`{text}` is not a due date; {DUE_HELP}, e.g. {example}.", field="due"
            ) from None
    if when <= now:
        raise IncidentError(
            f"The due date `{text}` is in the past; give a later one, e.g. {example}.",
            field="due",
        )
    return when
