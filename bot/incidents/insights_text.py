"""Insights as Markdown (`report`, the default) and as JSON (`report --format json`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.incidents.insights import Insights, SeverityFigures, Spread
from bot.policy.durations import format_duration

EMPTY = "No incidents in this period"


def period(ins: Insights) -> str:
    days = round((ins.until - ins.since) / timedelta(days=1))
    return f"{ins.since:%Y-%m-%d} to {ins.until:%Y-%m-%d} ({days} days)"


def left_out(ins: Insights) -> str:
    parts = []
    if ins.drills_left_out:
        parts.append(f"{ins.drills_left_out} drill(s)")
    if ins.private_left_out:
        parts.append("private incidents")
    return f" Left out: {', '.join(parts)}." if parts else ""


def spread_text(s: Spread) -> str:
    if s.count == 0 or s.median is None or s.p90 is None:
        got = "-"
    else:
        got = f"{format_duration(s.median)} / {format_duration(s.p90)}"
    if s.target is None:
        return got
    within = f": {s.within}/{s.count} within" if s.count else ""
    return f"{got} (target {format_duration(s.target)}{within})"


def share(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%" if whole else "-"


def as_markdown(ins: Insights) -> str:
    lines = [f"# Incidents, {period(ins)}", ""]
    if ins.total == 0:
        lines.append(f"{EMPTY}.{left_out(ins)}")
        return "\n".join(lines) + "\n"
    lines += [f"{ins.total} incident(s).{left_out(ins)}", ""]
    names = [f.severity for f in ins.severities]
    lines += ["## Incidents per week", ""]
    lines.append("| Week of | " + " | ".join(names) + " | All |")
    lines.append("|---" * (len(names) + 2) + "|")
    for week in ins.weeks:
        counts = ins.per_week.get(week, {})
        cells = [str(counts.get(n, 0)) for n in names]
        lines.append(f"| {week:%Y-%m-%d} | " + " | ".join(cells) + f" | {sum(counts.values())} |")
    shown = [f for f in ins.severities if f.incidents]
    lines += ["", "## Response times (median / p90, against the severity's target)", ""]
    lines.append("| Severity | Incidents | Acknowledge | First update | Resolve |")
    lines.append("|---|---|---|---|---|")
    for f in shown:
        lines.append(
            f"| {f.severity} | {f.incidents} | {spread_text(f.to_acknowledge)} | "
            f"{spread_text(f.to_first_update)} | {spread_text(f.to_resolve)} |"
        )
    lines += ["", "## Updates on time (within the severity's cadence)", ""]
    lines += ["| Severity | On time | Due | Share |", "|---|---|---|---|"]
    for f in shown:
        lines.append(
            f"| {f.severity} | {f.updates_on_time} | {f.updates_due} | "
            f"{share(f.updates_on_time, f.updates_due)} |"
        )
    lines += ["", "## Escalations", ""]
    lines += ["| Severity | Levels paged | Acknowledged | By hand |", "|---|---|---|---|"]
    for f in shown:
        lines.append(f"| {f.severity} | {f.pages} | {f.pages_acknowledged} | {f.pages_by_hand} |")
    return "\n".join(lines) + "\n"


def _secs(v: timedelta | None) -> int | None:
    return None if v is None else int(v.total_seconds())


def _spread(s: Spread) -> dict[str, Any]:
    return {
        "count": s.count,
        "median_s": _secs(s.median),
        "p90_s": _secs(s.p90),
        "target_s": _secs(s.target),
        "within_target": s.within,
    }


def _severity(f: SeverityFigures) -> dict[str, Any]:
    return {
        "severity": f.severity,
        "incidents": f.incidents,
        "to_acknowledge": _spread(f.to_acknowledge),
        "to_first_update": _spread(f.to_first_update),
        "to_resolve": _spread(f.to_resolve),
        "updates": {"due": f.updates_due, "on_time": f.updates_on_time},
        "pages": {
            "paged": f.pages,
            "acknowledged": f.pages_acknowledged,
            "by_hand": f.pages_by_hand,
        },
    }


def as_json(ins: Insights) -> dict[str, Any]:
    return {
        "since": ins.since.isoformat(),
        "until": ins.until.isoformat(),
        "incidents": ins.total,
        "drills_left_out": ins.drills_left_out,
        **({"message": EMPTY.lower()} if ins.total == 0 else {}),
        "per_week": [
            {"week": f"{w:%Y-%m-%d}", "by_severity": dict(ins.per_week.get(w, {}))}
            for w in ins.weeks
        ],
        "severities": [_severity(f) for f in ins.severities],
    }
