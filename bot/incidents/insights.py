"""Insights: figures across a period's incidents, for `python -m bot report` and the App
Home. Per severity (in the policy's order): incidents per week; time to acknowledge, to
the first update and to resolve (median and p90) against the severity's targets; how
many updates came within the cadence; pages, acknowledged and by hand. Drills are left
out (bot/store/insights.py never reads them). The durations are the ones an incident's
own report gives (Reports.metrics), so the two can never disagree."""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from bot.incidents.policy_book import PolicyBook
from bot.incidents.report import Reports
from bot.incidents.timeline import TimelineKind
from bot.planning.planner import Reason
from bot.store import insights as queries
from bot.store.repo import Store
from bot.store.tables import Incident, Page

DEFAULT_PERIOD = timedelta(days=90)


@dataclass(frozen=True)
class Spread:
    """One duration over a severity's incidents: how many had it, median, p90, and how
    many were within the target (None: the severity has no target)."""

    count: int = 0
    median: timedelta | None = None
    p90: timedelta | None = None
    target: timedelta | None = None
    within: int | None = None

    @classmethod
    def of(cls, values: Sequence[timedelta], target: timedelta | None) -> Spread:
        if not values:
            return cls(target=target, within=None if target is None else 0)
        ordered = sorted(values)
        secs = statistics.median(v.total_seconds() for v in ordered)
        # Nearest rank: the p90 is a value that happened, never an interpolation.
        p90 = ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]
        within = None if target is None else sum(1 for v in ordered if v <= target)
        return cls(len(ordered), timedelta(seconds=secs), p90, target, within)


@dataclass
class SeverityFigures:
    severity: str
    incidents: int = 0
    to_acknowledge: Spread = field(default_factory=Spread)
    to_first_update: Spread = field(default_factory=Spread)
    to_resolve: Spread = field(default_factory=Spread)
    updates_due: int = 0  # update intervals the cadence asked for
    updates_on_time: int = 0  # of them, the ones closed within the cadence
    pages: int = 0  # escalation levels paged
    pages_acknowledged: int = 0
    pages_by_hand: int = 0


@dataclass
class Insights:
    since: datetime
    until: datetime
    severities: list[SeverityFigures]
    weeks: list[date]  # the Monday of each week of the period
    per_week: dict[date, dict[str, int]]
    drills_left_out: int = 0
    private_left_out: bool = False

    @property
    def total(self) -> int:
        return sum(s.incidents for s in self.severities)


def week_of(at: datetime) -> date:
    day = at.date()
    return day - timedelta(days=day.weekday())


def updates_on_time(
    incident: Incident, updates: Sequence[datetime], cadence: timedelta | None, now: datetime
) -> tuple[int, int]:
    """(intervals due, intervals within the cadence): from the declaration to each update,
    update to update, and the last one to the resolution (or `now`, once it has lapsed)."""
    if cadence is None:
        return 0, 0
    end = incident.resolved_at or now
    points = [incident.declared_at, *sorted(u for u in updates if u <= end)]
    gaps = [b - a for a, b in itertools.pairwise(points)]
    tail = end - points[-1]
    if incident.resolved_at is not None or tail > cadence:
        gaps.append(tail)  # an open incident's current interval counts once it is late
    return len(gaps), sum(1 for g in gaps if g <= cadence)


async def insights(
    store: Store,
    policy: PolicyBook,
    reports: Reports,
    *,
    since: datetime,
    until: datetime,
    private: bool = True,
) -> Insights:
    """The figures of incidents declared in [since, until]; without `private`, private
    incidents are left out (the App Home is seen by everyone)."""
    incidents = await queries.declared_between(store, since, until, private=private)
    ids = [i.id for i in incidents]
    pages = await queries.pages_by_incident(store, ids)
    updates = await queries.times_by_incident(store, ids, TimelineKind.UPDATE)
    order = policy.policy.severity_names()
    names = order + sorted({i.severity for i in incidents} - set(order))
    figures = {name: SeverityFigures(name) for name in names}
    durations: dict[str, tuple[list[timedelta], list[timedelta], list[timedelta]]] = {
        name: ([], [], []) for name in names
    }
    # The targets of a severity gone from the policy: the ones its incidents ran under.
    gone: dict[str, tuple[timedelta | None, timedelta | None, timedelta | None]] = {}
    weeks = _weeks(since, until)
    per_week: dict[date, dict[str, int]] = {w: {} for w in weeks}
    for incident in incidents:
        pol = await policy.of(incident)
        m = await reports.metrics(incident, pol)
        f = figures[incident.severity]
        f.incidents += 1
        week = per_week.setdefault(week_of(incident.declared_at), {})
        week[incident.severity] = week.get(incident.severity, 0) + 1
        ack, first, resolve = durations[incident.severity]
        for got, into in ((m.to_acknowledge, ack), (m.to_first_update, first)):
            if got is not None:
                into.append(got)
        if m.to_resolve is not None:
            resolve.append(m.to_resolve)
        gone[incident.severity] = (m.response_target, m.update_target, m.resolve_target)
        sev = pol.severity(incident.severity)  # the cadence it ran under
        due, on_time = updates_on_time(
            incident, updates.get(incident.id, []), sev.update_every if sev else None, until
        )
        f.updates_due += due
        f.updates_on_time += on_time
        _count_pages(f, pages.get(incident.id, []))
    for name, (ack, first, resolve) in durations.items():
        sev = policy.policy.severity(name)
        t_ack, t_first, t_resolve = (
            (sev.response_time, sev.update_every, sev.resolve_within)
            if sev
            else gone.get(name, (None, None, None))
        )
        f = figures[name]
        f.to_acknowledge = Spread.of(ack, t_ack)
        f.to_first_update = Spread.of(first, t_first)
        f.to_resolve = Spread.of(resolve, t_resolve)
    return Insights(
        since=since,
        until=until,
        severities=list(figures.values()),
        weeks=sorted(per_week),
        per_week=per_week,
        drills_left_out=await queries.drills_between(store, since, until),
        private_left_out=not private,
    )


def _count_pages(f: SeverityFigures, pages: Sequence[Page]) -> None:
    f.pages += len(pages)
    f.pages_acknowledged += sum(1 for p in pages if p.acked_at is not None)
    f.pages_by_hand += sum(1 for p in pages if p.reason == Reason.MANUAL)


def _weeks(since: datetime, until: datetime) -> list[date]:
    first, last = week_of(since), week_of(until)
    return [first + timedelta(weeks=n) for n in range((last - first).days // 7 + 1)]
