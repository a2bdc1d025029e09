"""On-call schedules in the policy: layers (primary, secondary) that each rotate their
participants, handing off daily or weekly at a time in a time zone, optionally only
within some hours (a restriction), and overrides that put someone else on call for a
while. Who is on call when is computed in bot/planning/oncall.py (pure)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Annotated, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field, field_validator, model_validator

from .fields import Found, Key, MaybeDuration, PolicyModel, UsergroupId, fail, problem

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_HANDOFF = re.compile(
    r"(?P<every>daily|weekly)(?:,?\s+(?P<day>[a-z]+))?\s+(?P<at>\d{1,2}:\d{2})", re.IGNORECASE
)
HANDOFF_HELP = 'write "daily 09:00" or "weekly, Monday 09:00"'


def check_zone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise problem(
            f'"{value}" is not an IANA time zone; write e.g. UTC, Europe/Paris, America/New_York'
        ) from None
    return value


def _clock_time(value: str) -> str:
    try:
        time.fromisoformat(value if len(value) == 5 else f"0{value}")
    except ValueError:
        raise problem(f'"{value}" is not a time of day; write it as 09:00 or 18:30') from None
    return value


def _weekday(value: str) -> str:
    day = value.strip().lower()
    found = [d for d in WEEKDAYS if d.startswith(day[:3])] if len(day) >= 3 else []
    if not found:
        raise problem(f'"{value}" is not a day of the week; write Monday ... Sunday')
    return found[0]


def _handoff(value: str) -> str:
    m = _HANDOFF.fullmatch(value.strip())
    if m is None:
        raise problem(f'"{value}" is not a hand-off; {HANDOFF_HELP}')
    _clock_time(m["at"])
    if m["every"].lower() == "weekly":
        if not m["day"]:
            raise problem(f'"{value}" does not say the day; {HANDOFF_HELP}')
        _weekday(m["day"])
    elif m["day"]:
        raise problem(f'"{value}": a daily hand-off has no day; {HANDOFF_HELP}')
    return value


ClockTime = Annotated[str, AfterValidator(_clock_time)]
Weekday = Annotated[str, AfterValidator(_weekday)]
Zone = Annotated[str | None, AfterValidator(check_zone)]


def to_time(text: str) -> time:
    return time.fromisoformat(text if len(text) == 5 else f"0{text}")


class Restriction(PolicyModel):
    """On call only within these hours (e.g. business hours); outside them the layer has
    nobody, and a target naming the whole schedule pages the next layer that has."""

    days: tuple[Weekday, ...] = WEEKDAYS[:5]
    """Days of the week, Monday to Friday unless told."""
    start: ClockTime = "09:00"
    end: ClockTime = "18:00"
    """Local times (the layer's time zone); an end before the start runs past midnight."""
    business_hours: bool = False
    """true: within the policy's ``business_hours`` (its days, hours, holidays and time
    zone) instead of days, start and end."""

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        given = sorted(self.model_fields_set & {"days", "start", "end"})
        if self.business_hours and given:
            raise problem(
                f"business_hours: true takes the policy's business hours; remove {', '.join(given)}"
            )
        return self


class Layer(PolicyModel):
    """One rotation: its participants take turns, in order, from `start`."""

    name: Key
    """e.g. primary, secondary; a contact names it with `layer:`."""
    participants: tuple[str, ...] = ()
    """Slack member IDs (U0123ABCD) or keys of contacts that are users, in order."""
    handoff: Annotated[str, AfterValidator(_handoff)] = "weekly, Monday 09:00"
    """When one participant hands over to the next: "daily 09:00", "weekly, Monday 09:00"."""
    start: date
    """The first participant's first shift begins at the hand-off time on or after this date."""
    timezone: Zone = None
    """IANA time zone of the hand-off; the schedule's when not given."""
    restrict: Restriction | None = None
    """On call only within these hours; null: around the clock."""

    @property
    def every(self) -> timedelta:
        m = _HANDOFF.fullmatch(self.handoff.strip())
        assert m is not None
        return timedelta(days=7 if m["every"].lower() == "weekly" else 1)

    @property
    def at(self) -> time:
        m = _HANDOFF.fullmatch(self.handoff.strip())
        assert m is not None
        return to_time(m["at"])

    @property
    def weekday(self) -> int | None:
        m = _HANDOFF.fullmatch(self.handoff.strip())
        assert m is not None
        return WEEKDAYS.index(_weekday(m["day"])) if m["day"] else None


class Override(PolicyModel):
    """Someone else on call on one layer for a while (a swap, a holiday)."""

    user: str
    """A Slack member ID or the key of a contact that is a user."""
    start: datetime
    """From (local time of the schedule unless it says its offset), e.g. 2026-12-24T09:00."""
    end: datetime
    """Until (not included)."""
    layer: Key | None = None
    """The layer it replaces; the first one when not given."""

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end <= self.start:
            raise problem("end must be after start")
        return self


class Schedule(PolicyModel):
    """Who is on call: layers in order (primary first) and overrides."""

    timezone: Zone = None
    """IANA time zone of its hand-offs and overrides; the policy's when not given."""
    layers: tuple[Layer, ...] = Field(min_length=1)
    overrides: tuple[Override, ...] = ()
    notify_before: MaybeDuration = timedelta(hours=1)
    """The person coming on call gets a DM this long before the hand-off; null: no DM."""
    usergroup: UsergroupId | None = None
    """A Slack user group kept equal to who is on call now: the person a page to the
    schedule reaches (e.g. @oncall-engineer)."""

    @field_validator("layers")
    @classmethod
    def _unique_layers(cls, value: tuple[Layer, ...]) -> tuple[Layer, ...]:
        found: list[Found] = []
        for i, layer in enumerate(value):
            if any(other.name == layer.name for other in value[:i]):
                found.append(((i, "name"), f'layer "{layer.name}" is listed twice'))
        if found:
            fail(found, value)
        return value

    def layer(self, name: str | None) -> Layer | None:
        if name is None:
            return self.layers[0]
        return next((layer for layer in self.layers if layer.name == name), None)
