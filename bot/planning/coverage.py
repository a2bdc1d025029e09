"""`validate`'s warnings about schedules (pure): times when nobody would be paged (a gap
in coverage) and overrides that replace nobody (before their layer's rotation starts).
Warnings, not errors: a gap may be meant (no one on call on Sundays)."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.planning.oncall import Rota
from bot.policy.model import Policy

AHEAD = timedelta(days=28)


def schedule_warnings(policy: Policy, now: datetime) -> list[str]:
    found: list[str] = []
    for name in policy.schedules:
        rota = Rota(policy, name)
        found += _overrides(rota)
        gap = first_gap(rota, now)
        if gap is not None:
            start, end = gap
            until = f"until {_local(rota, end)}" if end else "from then on"
            found.append(
                f"schedules.{name}: nobody is on call from {_local(rota, start)} {until}"
                " (a gap in coverage: pages to it reach no one); add a layer around the"
                " clock, or widen a restriction"
            )
    return found


def first_gap(rota: Rota, now: datetime) -> tuple[datetime, datetime | None] | None:
    """The first stretch within AHEAD (from the first shift, at the earliest) when no
    layer has anyone on call: (from, until or None when it does not end in sight)."""
    layers = rota.schedule.layers
    first = min(rota.first_shift(layer) for layer in layers)
    start = max(now, first)
    moments = {start}
    for layer in layers:
        moments.update(rota.boundaries(layer, start, start + AHEAD))
    gap_from: datetime | None = None
    for at in sorted(moments):
        empty = rota.who(at) is None
        if empty and gap_from is None:
            gap_from = at
        elif not empty and gap_from is not None:
            return gap_from, at
    return (gap_from, None) if gap_from is not None else None


def _overrides(rota: Rota) -> list[str]:
    found = []
    for i, o in enumerate(rota.schedule.overrides):
        layer = rota.layer(o.layer)
        cover = rota.covers[i]
        if cover.end <= rota.first_shift(layer):
            found.append(
                f"schedules.{rota.name}.overrides[{i}]: ends before layer {layer.name!r}"
                f" starts ({layer.start}): it replaces nobody"
            )
    return found


def _local(rota: Rota, at: datetime) -> str:
    return at.astimezone(rota.tz).strftime("%a %d %b %Y %H:%M %Z")
