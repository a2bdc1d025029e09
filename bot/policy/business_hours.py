"""Business hours: when a runbook's "in business hours" clock runs (a time zone, working
days, opening hours, holidays). A duration written ``2h in business hours`` is a
`durations.BusinessDelta`: the planner counts it with `BusinessHours.add`, so a SEV-3's 2-hour
response target set on Friday at 16:00 falls due on Monday at 10:00. One model, so an
on-call schedule's restrictions can use the same hours."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import field_validator

from .fields import PolicyModel, problem

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)")


class BusinessHours(PolicyModel):
    """When business hours run."""

    timezone: str | None = None
    """IANA time zone of the hours below; null: the policy's."""
    days: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    """Working days: mon, tue, wed, thu, fri, sat, sun."""
    hours: str = "09:00-17:00"
    """Opening hours on a working day, ``HH:MM-HH:MM``."""
    holidays: tuple[date, ...] = ()
    """Dates (YYYY-MM-DD) with no business hours."""

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise problem(
                    f'"{value}" is not an IANA time zone; write e.g. UTC, Europe/Paris'
                ) from None
        return value

    @field_validator("days")
    @classmethod
    def _days(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [d for d in value if d.lower() not in DAYS]
        if bad or not value:
            raise problem(f"days are {', '.join(DAYS)} (got {', '.join(bad) or 'none'})")
        return tuple(d.lower() for d in value)

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        match = _HOURS.fullmatch(value.replace(" ", ""))
        if match is None or _opening(value) >= _closing(value):
            raise problem(f'"{value}" is not opening hours; write e.g. 09:00-17:00')
        return value.replace(" ", "")

    def zone(self, policy_zone: str) -> ZoneInfo:
        return ZoneInfo(self.timezone or policy_zone)

    def window(self, day: date, tz: ZoneInfo) -> tuple[datetime, datetime] | None:
        """When `day`'s business hours open and close; None: not a working day."""
        if DAYS[day.weekday()] not in self.days or day in self.holidays:
            return None
        midnight = datetime.combine(day, time(0), tzinfo=tz)
        return midnight + _opening(self.hours), midnight + _closing(self.hours)

    def contains(self, when: datetime, tz: ZoneInfo) -> bool:
        window = self.window(when.astimezone(tz).date(), tz)
        return window is not None and window[0] <= when < window[1]

    def add(self, start: datetime, duration: timedelta, tz: ZoneInfo) -> datetime:
        """`start` plus `duration` counted in business hours only (in `tz`)."""
        left = duration
        day = start.astimezone(tz).date()
        t = start
        for _ in range(3 * 366):  # years of holidays still end
            window = self.window(day, tz)
            if window is not None:
                opens, closes = window
                t = max(t, opens)
                if t < closes:
                    if t + left <= closes:
                        return t + left
                    left -= closes - t
            day += timedelta(days=1)
        return start + duration  # no business hours in years: count plain time


def _opening(hours: str) -> timedelta:
    h, m = hours.replace(" ", "").split("-")[0].split(":")
    return timedelta(hours=int(h), minutes=int(m))


def _closing(hours: str) -> timedelta:
    h, m = hours.replace(" ", "").split("-")[1].split(":")
    return timedelta(hours=int(h), minutes=int(m))
