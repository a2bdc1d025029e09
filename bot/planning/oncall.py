"""Who is on call when: pure, from a schedule, its overrides and an instant.

Hand-offs are wall-clock times in a time zone ("weekly, Monday 09:00" Europe/Paris is
09:00 in Paris in winter and in summer), so a shift across a DST change is an hour
shorter or longer, never shifted. Shift k begins at the hand-off time, k periods after
the first one; the instant is found from the local date and then checked against the
real instants on either side, which is what makes a nonexistent or repeated local time
(the DST change itself) land in the right shift.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.policy.model import Policy
from bot.policy.schedules import WEEKDAYS, Layer, Override, Schedule, to_time

# How far ahead (and back) a change of who is on call is looked for.
HORIZON = timedelta(days=62)


@dataclass(frozen=True)
class Cover:
    """An override in effect: `user` on call on `layer` from `start` until `end`."""

    layer: str
    user: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class OnCall:
    """Who is on call on one layer now, until when, and who comes next."""

    schedule: str
    layer: str
    user: str | None
    until: datetime | None
    next_user: str | None


class Rota:
    """One schedule of a policy, with the overrides stored besides the policy's."""

    def __init__(self, policy: Policy, name: str, stored: Iterable[Cover] = ()) -> None:
        self.policy = policy
        self.name = name
        self.schedule: Schedule = policy.schedules[name]
        self.tz = ZoneInfo(self.schedule.timezone or policy.timezone)
        covers = [self._policy_cover(o) for o in self.schedule.overrides]
        # Later overrides win over earlier ones: the stored ones come after the policy's.
        self.covers: list[Cover] = [*covers, *stored]

    def _policy_cover(self, o: Override) -> Cover:
        layer = o.layer or self.schedule.layers[0].name
        user = self.policy.participant(o.user) or o.user
        return Cover(layer, user, self._aware(o.start), self._aware(o.end))

    def _aware(self, at: datetime) -> datetime:
        return at if at.tzinfo is not None else at.replace(tzinfo=self.tz)

    def layer(self, name: str | None) -> Layer:
        found = self.schedule.layer(name)
        if found is None:
            raise KeyError(name)
        return found

    def zone(self, layer: Layer) -> ZoneInfo:
        return ZoneInfo(layer.timezone) if layer.timezone else self.tz

    # -- the rotation ----------------------------------------------------------------

    def _first_day(self, layer: Layer) -> date:
        day = layer.start
        if layer.weekday is not None:
            day += timedelta(days=(layer.weekday - day.weekday()) % 7)
        return day

    def first_shift(self, layer: Layer) -> datetime:
        return self._begin(layer, 0)

    def _begin(self, layer: Layer, k: int) -> datetime:
        """The instant shift k begins (the hand-off time, local, k periods on)."""
        day = self._first_day(layer) + k * layer.every
        return datetime.combine(day, layer.at, tzinfo=self.zone(layer))

    def shift_index(self, layer: Layer, at: datetime) -> int:
        """Which shift `at` falls in; negative before the first one."""
        local = at.astimezone(self.zone(layer))
        k = (local.date() - self._first_day(layer)).days // layer.every.days
        while self._begin(layer, k + 1) <= at:
            k += 1
        while self._begin(layer, k) > at:
            k -= 1
        return k

    def rotation_user(self, layer: Layer, at: datetime) -> str | None:
        k = self.shift_index(layer, at)
        if k < 0 or not layer.participants:
            return None
        ref = layer.participants[k % len(layer.participants)]
        return self.policy.participant(ref) or ref

    def allowed(self, layer: Layer, at: datetime) -> bool:
        """Within the layer's restriction (always, without one)?"""
        r = layer.restrict
        if r is None:
            return True
        hours = self.policy.business_hours
        if r.business_hours and hours is not None:  # validate refuses it without them
            return hours.contains(at, hours.zone(self.policy.timezone))
        local = at.astimezone(self.zone(layer))
        days = {WEEKDAYS.index(d) for d in r.days}
        start, end, now = to_time(r.start), to_time(r.end), local.time()
        if start < end:
            return local.weekday() in days and start <= now < end
        # Past midnight: the evening of an allowed day and the small hours after it.
        yesterday = (local.weekday() - 1) % 7
        return (local.weekday() in days and now >= start) or (yesterday in days and now < end)

    # -- who, and when it changes ------------------------------------------------------

    def on_layer(self, layer: Layer, at: datetime) -> str | None:
        """Who is on call on `layer` at `at`: an override inside its window wins."""
        for cover in reversed(self.covers):
            if cover.layer == layer.name and cover.start <= at < cover.end:
                return cover.user
        if not self.allowed(layer, at):
            return None
        return self.rotation_user(layer, at)

    def who(self, at: datetime, layer: str | None = None) -> tuple[str, str] | None:
        """(layer, user) on call at `at`: on that layer, or the first layer with someone."""
        layers: Sequence[Layer] = [self.layer(layer)] if layer else self.schedule.layers
        for one in layers:
            user = self.on_layer(one, at)
            if user is not None:
                return one.name, user
        return None

    def boundaries(self, layer: Layer, after: datetime, until: datetime) -> list[datetime]:
        """Every instant in (after, until] at which who is on call on `layer` may change."""
        found: set[datetime] = set()
        k = self.shift_index(layer, after) + 1
        while (begin := self._begin(layer, k)) <= until:
            found.add(begin)
            k += 1
        hours = self.policy.business_hours
        if layer.restrict is not None and layer.restrict.business_hours and hours is not None:
            tz = hours.zone(self.policy.timezone)
            day = after.astimezone(tz).date() - timedelta(days=1)
            while day <= until.astimezone(tz).date() + timedelta(days=1):
                found.update(hours.window(day, tz) or ())
                day += timedelta(days=1)
        elif layer.restrict is not None:
            tz = self.zone(layer)
            day = after.astimezone(tz).date() - timedelta(days=1)
            while day <= until.astimezone(tz).date() + timedelta(days=1):
                for t in (layer.restrict.start, layer.restrict.end):
                    found.add(datetime.combine(day, to_time(t), tzinfo=tz))
                day += timedelta(days=1)
        for c in self.covers:
            if c.layer == layer.name:
                found.update((c.start, c.end))
        return sorted(b for b in found if after < b <= until)

    def next_change(self, layer: Layer, at: datetime) -> tuple[datetime, str | None] | None:
        """When the person on call on `layer` next changes, and to whom."""
        now = self.on_layer(layer, at)
        for b in self.boundaries(layer, at, at + HORIZON):
            then = self.on_layer(layer, b)
            if then != now:
                return b, then
        return None

    def last_change(self, layer: Layer, at: datetime) -> datetime | None:
        """The latest instant <= `at` at which who is on call on `layer` may have changed."""
        found = self.boundaries(layer, at - HORIZON, at)
        return found[-1] if found else None

    def now_and_next(self, layer: Layer, at: datetime) -> OnCall:
        change = self.next_change(layer, at)
        return OnCall(
            schedule=self.name,
            layer=layer.name,
            user=self.on_layer(layer, at),
            until=change[0] if change else None,
            next_user=change[1] if change else None,
        )


def parse_local(text: str, tz: ZoneInfo) -> datetime:
    """``2026-12-24T09:00`` (or ``2026-12-24 09:00``, or a date: its midnight) in `tz`;
    an explicit offset is kept. Raises ValueError."""
    value = text.strip().replace(" ", "T", 1)
    if len(value) == 10:
        return datetime.combine(date.fromisoformat(value), time(0), tzinfo=tz)
    at = datetime.fromisoformat(value)
    return at if at.tzinfo is not None else at.replace(tzinfo=tz)
