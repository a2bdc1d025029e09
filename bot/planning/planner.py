"""The one planner: (incident clock state, policy) -> what is due, and when.

Pure: no I/O, no clock reads. The scheduler stores what it returns as rows, and
re-plans when a row fires to check the row is still wanted; `simulate` runs the
same function, so a dry run cannot drift from what `serve` does.

Due-ness is always "since + interval <= now", never "now % cadence == 0": a
missed tick fires late, once, instead of being skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from bot.policy.model import Policy


class Kind(StrEnum):
    NAG = "nag"
    ESCALATE = "escalate"
    MONITORED = "monitored"  # the monitoring period is over: ask whether to resolve


class Reason(StrEnum):
    CADENCE = "cadence"  # the update clock lapsed
    AT_DECLARE = "at_declare"
    UNRESOLVED = "unresolved_after"
    NOT_ACKED = "not_acknowledged"
    IGNORED_NAGS = "ignored_nags"
    REPEAT = "repeat"
    MANUAL = "manual"
    MONITOR_FOR = "monitor_for"


@dataclass(frozen=True)
class Page:
    """A level that was paged: when first and last, and whether someone acknowledged."""

    first_at: datetime
    last_at: datetime
    acked_at: datetime | None = None


@dataclass(frozen=True)
class ClockState:
    """What the planner needs to know of an incident."""

    severity: str
    declared_at: datetime
    severity_since: datetime
    resolved: bool = False
    last_update_at: datetime | None = None
    last_nag_at: datetime | None = None
    nags_since_update: int = 0
    nag_escalations: int = 0  # levels paged for ignored nags since the last update
    snoozed_until: datetime | None = None
    pages: Mapping[int, Page] = field(default_factory=dict)
    monitoring_since: datetime | None = None


@dataclass(frozen=True, order=True)
class Due:
    due_at: datetime
    kind: Kind
    level: int | None
    reason: Reason

    @property
    def key(self) -> str:
        """Identifies the step; with due_at it makes a row unique."""
        return f"{self.kind}:{'' if self.level is None else self.level}:{self.reason}"


def plan(state: ClockState, policy: Policy) -> list[Due]:
    """Everything that should be pending for this incident, soonest first."""
    if state.resolved:
        return []
    sev = policy.severity(state.severity)
    if sev is None:
        return []
    dues: list[Due] = []

    # The update clock: one cadence after the later of the last update and the last nag.
    if sev.update_every is not None:
        since = max(
            t for t in (state.declared_at, state.last_update_at, state.last_nag_at) if t is not None
        )
        due = policy.after(since, sev.update_every)
        if state.snoozed_until is not None and state.snoozed_until > due:
            due = state.snoozed_until  # snooze delays this one nag, not the cadence
        dues.append(Due(due, Kind.NAG, None, Reason.CADENCE))

    # The monitoring period the policy asks for: at its end, the commander is asked.
    if sev.monitor_for is not None and state.monitoring_since is not None:
        due = state.monitoring_since + sev.monitor_for
        dues.append(Due(due, Kind.MONITORED, None, Reason.MONITOR_FOR))

    levels = policy.escalation.levels
    ignored = _ignored_nags(state, policy)
    if ignored is not None:
        dues.append(ignored)

    for i, level in enumerate(levels):
        page = state.pages.get(i)
        if page is not None:
            if level.repeat_every is not None and page.acked_at is None:
                dues.append(Due(page.last_at + level.repeat_every, Kind.ESCALATE, i, Reason.REPEAT))
            continue
        if level.manual:  # a judgement call: only a person pages it
            continue
        when = level.when
        if when.pages_at_declare(sev):
            dues.append(Due(state.severity_since, Kind.ESCALATE, i, Reason.AT_DECLARE))
        after = when.unresolved_after_for(sev)
        if after is not None:
            dues.append(
                Due(policy.after(state.declared_at, after), Kind.ESCALATE, i, Reason.UNRESOLVED)
            )
        previous = state.pages.get(i - 1) if i > 0 else None
        wait = when.ack_wait_for(sev)
        if wait is not None and previous is not None and previous.acked_at is None:
            due = policy.after(previous.first_at, wait)
            dues.append(Due(due, Kind.ESCALATE, i, Reason.NOT_ACKED))
    return sorted(_earliest_per_level(dues))


def _ignored_nags(state: ClockState, policy: Policy) -> Due | None:
    """Missed updates: after `after` ignored reminders, page the level the policy names
    (again, if it was paged before: the commander has gone quiet), once per silence.
    The older `nag_limit` climbs one more level not paged yet per `nag_limit` ignored
    reminders. Neither ever pages a manual level."""
    esc = policy.escalation
    if state.last_nag_at is None:
        return None
    level: int | None = None
    if esc.missed_updates is not None:
        if state.nag_escalations == 0 and state.nags_since_update >= esc.missed_updates.after:
            level = esc.missed_updates_level
    elif esc.nag_limit and state.nags_since_update >= esc.nag_limit * (state.nag_escalations + 1):
        level = next(
            (i for i, lv in enumerate(esc.levels) if i not in state.pages and not lv.manual), None
        )
    if level is None or esc.levels[level].manual:
        return None
    return Due(state.last_nag_at, Kind.ESCALATE, level, Reason.IGNORED_NAGS)


def _earliest_per_level(dues: list[Due]) -> list[Due]:
    """A level is paged once by whichever condition comes first (repeats aside)."""
    best: dict[tuple[Kind, int | None, bool], Due] = {}
    for d in dues:
        slot = (d.kind, d.level, d.reason is Reason.REPEAT)
        if slot not in best or d.due_at < best[slot].due_at:
            best[slot] = d
    return list(best.values())


def next_level(state: ClockState, policy: Policy) -> int | None:
    """The level `/incident escalate` pages now: the first one not paged yet."""
    for i in range(len(policy.escalation.levels)):
        if i not in state.pages:
            return i
    return None
