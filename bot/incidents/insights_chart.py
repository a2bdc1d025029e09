"""Insights as a PNG chart, made to be read on a phone: one column of panels 1080 px
wide, large type. Incidents per week by severity; time to acknowledge, to the first
update and to resolve (median bar, p90 bar, the target as a line) per severity; the
share of updates on time. Matplotlib's object API on the Agg canvas: no GUI, no pyplot
global state, so two charts made at once never draw on each other."""

from __future__ import annotations

import io
from datetime import timedelta

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bot.incidents.insights import Insights, Spread
from bot.incidents.insights_text import EMPTY, left_out, period
from bot.policy.durations import format_duration

WIDTH_IN = 6.0
DPI = 180  # 6 in x 180 = 1080 px: a phone's screen width, at its own resolution
PANEL_IN = 2.6
# Most severe first, as the policy lists severities: red to grey.
PALETTE = ("#c0392b", "#e67e22", "#f1c40f", "#2e86c1", "#7f8c8d", "#8e44ad", "#16a085")
MEDIAN, P90, TARGET = "#2e86c1", "#aed6f1", "#222222"


def _unit(values: list[timedelta]) -> tuple[str, float]:
    longest = max((v.total_seconds() for v in values), default=0.0)
    if longest >= 2 * 86400:
        return "days", 86400.0
    if longest >= 2 * 3600:
        return "hours", 3600.0
    return "minutes", 60.0


def _times(ax: Axes, title: str, rows: list[tuple[str, Spread]]) -> None:
    rows = [(name, s) for name, s in rows if s.count]
    if not rows:
        ax.set_axis_off()
        ax.set_title(f"{title}: no data", loc="left", fontsize=13)
        return
    # The scale is the incidents': a target far beyond them (a 7-day one beside hours)
    # would squash every bar, so it is written at the edge instead of drawn.
    longest = max(s.p90 for _, s in rows if s.p90 is not None)
    near = [s.target for _, s in rows if s.target is not None and s.target <= 2 * longest]
    unit, size = _unit([longest, *near])
    edge = max([longest, *near]).total_seconds() / size * 1.08 or 1.0  # all zero: any scale
    y = list(range(len(rows)))
    ax.barh(
        y,
        [s.p90.total_seconds() / size if s.p90 else 0 for _, s in rows],
        color=P90,
        height=0.7,
        label="p90",
    )
    ax.barh(
        y,
        [s.median.total_seconds() / size if s.median else 0 for _, s in rows],
        color=MEDIAN,
        height=0.4,
        label="median",
    )
    labelled = False
    for i, (_, s) in enumerate(rows):
        if s.target is None:
            continue
        x = s.target.total_seconds() / size
        if x > edge:
            far = f"target {format_duration(s.target)} \N{RIGHTWARDS ARROW}"
            ax.text(edge, i, far, ha="right", va="center", fontsize=9, color=TARGET)
            continue
        label = None if labelled else "target"
        ax.plot([x, x], [i - 0.45, i + 0.45], color=TARGET, linewidth=2.5, label=label)
        labelled = True
    ax.set_xlim(0, edge)
    ax.set_yticks(y, [f"{n} ({s.count})" for n, s in rows])
    ax.invert_yaxis()
    ax.set_xlabel(unit)
    ax.set_title(title, loc="left", fontsize=13, fontweight="bold")
    # Above the panel, right of its title: never over a bar.
    ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=3, fontsize=9, frameon=False)


def _per_week(ax: Axes, ins: Insights) -> None:
    names = [f.severity for f in ins.severities]
    x = list(range(len(ins.weeks)))
    bottom = [0] * len(ins.weeks)
    for n, name in enumerate(names):
        counts = [ins.per_week.get(w, {}).get(name, 0) for w in ins.weeks]
        if not any(counts):
            continue
        ax.bar(x, counts, bottom=bottom, color=PALETTE[n % len(PALETTE)], label=name)
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    step = max(1, len(x) // 6)  # at most ~7 dates: legible at phone width
    ax.set_xticks(x[::step], [f"{w:%d %b}" for w in ins.weeks[::step]])
    ax.set_ylabel("incidents")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("Incidents per week", loc="left", fontsize=13, fontweight="bold")
    ax.legend(fontsize=9, frameon=False, ncols=min(4, len(names)))


def _on_time(ax: Axes, ins: Insights) -> None:
    rows = [f for f in ins.severities if f.updates_due]
    ax.set_title("Updates on time", loc="left", fontsize=13, fontweight="bold")
    if not rows:
        ax.set_axis_off()
        return
    y = list(range(len(rows)))
    shares = [100 * f.updates_on_time / f.updates_due for f in rows]
    ax.barh(y, shares, color=MEDIAN, height=0.6)
    for i, f in enumerate(rows):
        inside = shares[i] > 75  # a long bar holds its count, a short one has it beside
        ax.text(
            shares[i] - 2 if inside else shares[i] + 2,
            i,
            f"{f.updates_on_time}/{f.updates_due}",
            ha="right" if inside else "left",
            va="center",
            fontsize=10,
            color="white" if inside else TARGET,
        )
    ax.set_yticks(y, [f.severity for f in rows])
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of updates within the cadence")


def as_png(ins: Insights) -> bytes:
    if ins.total == 0:
        fig = Figure(figsize=(WIDTH_IN, 3.0), dpi=DPI)
        fig.text(0.5, 0.6, EMPTY, ha="center", va="center", fontsize=18, fontweight="bold")
        fig.text(0.5, 0.35, period(ins) + left_out(ins), ha="center", fontsize=11, wrap=True)
    else:
        fig = Figure(figsize=(WIDTH_IN, PANEL_IN * 5 + 0.8), dpi=DPI, layout="constrained")
        fig.suptitle(f"Incidents, {period(ins)}", fontsize=14)
        ax_week, ax_ack, ax_first, ax_resolve, ax_on_time = fig.subplots(5, 1)
        _per_week(ax_week, ins)
        _times(
            ax_ack, "Time to acknowledge", [(f.severity, f.to_acknowledge) for f in ins.severities]
        )
        _times(
            ax_first,
            "Time to first update",
            [(f.severity, f.to_first_update) for f in ins.severities],
        )
        _times(ax_resolve, "Time to resolve", [(f.severity, f.to_resolve) for f in ins.severities])
        _on_time(ax_on_time, ins)
    FigureCanvasAgg(fig)  # attaches itself to the figure
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()
