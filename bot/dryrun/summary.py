"""A simulation as a policy author reads it: every message whole, repeats collapsed
("x8, every 15m"), and a summary of who was paged when, who acknowledged, and how many
reminders went out, read from the incident's timeline (what `serve` records too)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from itertools import pairwise
from typing import TYPE_CHECKING

from bot.dryrun.recording_chat import RecordingChat
from bot.incidents.timeline import TimelineKind
from bot.policy.durations import format_duration
from bot.policy.model import Policy
from bot.services import Services

if TYPE_CHECKING:
    from bot.dryrun.simulate import Simulation

INDENT = " " * 16
TIMES = "\u00d7"  # the multiplication sign: "x8" reads as a name


def offset(at: datetime, start: datetime) -> str:
    return "+" + (format_duration(at - start) if at > start else "0m")


def _when(times: Sequence[datetime], start: datetime) -> str:
    """+15m, +30m, ... and the interval when it is regular."""
    gaps = {b - a for a, b in pairwise(times)}
    if len(gaps) == 1:
        (gap,) = gaps
        span = f"from {offset(times[0], start)} to {offset(times[-1], start)}"
        return f"every {format_duration(gap)} {span}"
    return "at " + ", ".join(offset(t, start) for t in times)


def render_text(sim: Simulation) -> str:
    lines = [
        f"Simulating a {sim.severity} incident with {sim.policy.path} "
        "(virtual clock; nothing is sent)",
    ]
    # The same message to the same place (a reminder) is shown once, with when it recurs.
    same: dict[tuple[str, str, str], list[datetime]] = {}
    for e in sim.events:
        same.setdefault((e.action, e.target, e.text), []).append(e.at)
    shown: set[tuple[str, str, str]] = set()
    for e in sim.events:
        key = (e.action, e.target, e.text)
        if key in shown:
            continue
        shown.add(key)
        times = same[key]
        head = f"{offset(e.at, sim.start):>8}  {e.action:<7} {e.target}"
        body = e.text.strip().splitlines() or [""]
        lines.append(f"{head}: {body[0]}" if body[0] else head)
        lines += [f"{INDENT}{line}" for line in body[1:]]
        if e.buttons:
            lines.append(f"{INDENT}[buttons: {', '.join(e.buttons)}]")
        if len(times) > 1:
            lines.append(f"{INDENT}({TIMES}{len(times)}, {_when(times, sim.start)})")
    span = format_duration(sim.end - sim.start)
    state = "resolved" if sim.resolved else "the incident is still open"
    lines.append(f"{'+' + span:>8}  end of simulation ({state})")
    if sim.summary:
        lines += ["", "Summary:", *(f"  {line}" for line in sim.summary)]
    return "\n".join(lines)


async def summarize(
    services: Services, chat: RecordingChat, policy: Policy, incident_id: int, start: datetime
) -> list[str]:
    """Who was paged when (and why), who acknowledged what, reminders and updates."""
    out: list[str] = []
    nags: list[datetime] = []
    counts: Counter[str] = Counter()
    for e in await services.store.timeline(incident_id):
        at = offset(e.occurred_at, start)
        if e.kind == TimelineKind.ESCALATION:
            out.append(f"{at:>6} paged: {e.text.removeprefix('Escalated to ')}")
        elif e.kind == TimelineKind.ACK:
            by = chat.user_ref(e.author_id) if e.author_id else "?"
            out.append(f"{at:>6} {by} acknowledged: {e.text.removeprefix('Acknowledged: ')}")
        elif e.kind == TimelineKind.NAG:
            nags.append(e.occurred_at)
        elif e.kind in (TimelineKind.UPDATE, TimelineKind.SEVERITY, TimelineKind.RESOLVE):
            counts[e.kind] += 1
            if e.kind == TimelineKind.SEVERITY:
                out.append(f"{at:>6} {e.text}")
            elif e.kind == TimelineKind.RESOLVE:
                out.append(f"{at:>6} resolved: {e.text}")
    if not any(" paged: " in line for line in out):
        out.append("nobody was paged")
    out.append(
        f"update reminders sent: {len(nags)}"
        + (f" ({_when(nags, start)})" if len(nags) > 1 else "")
        + f"; updates posted: {counts[TimelineKind.UPDATE]}"
    )
    first = next((e for e in out if "acknowledged" in e), None)
    if first is None and policy.escalation.levels:
        out.append("no page was acknowledged")
    return out
