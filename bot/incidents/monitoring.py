"""The monitoring period a policy may ask for before resolving (`monitor_for: 30m`,
per severity: "normal for 30 minutes"). It counts from the moment the incident's status
became the policy's monitoring status; resolving sooner asks for confirmation (a
leading `--now`, the same by command and in the modal), and at its end the commander
is asked whether to resolve (bot/incidents/reminders.py)."""

from __future__ import annotations

from datetime import datetime

from bot.incidents.values import fmt_time
from bot.policy.durations import format_duration
from bot.policy.model import Policy
from bot.store.tables import Incident

MONITORING = "monitoring"
# Written before a summary: resolve now, before the monitoring period is over.
CONFIRM = "--now"


def track(pol: Policy, inc: Incident, status: str, now: datetime) -> None:
    """A status change: entering monitoring starts the period, leaving it ends it."""
    if status == pol.status(MONITORING):
        inc.monitoring_since = inc.monitoring_since or now
    else:
        inc.monitoring_since = None


def confirmed(summary: str) -> tuple[bool, str]:
    """(`--now` given, the summary without it)."""
    text = summary.strip()
    if text == CONFIRM or text.startswith(CONFIRM + " "):
        return True, text[len(CONFIRM) :].strip()
    return False, text


def too_early(pol: Policy, inc: Incident, now: datetime) -> str | None:
    """Why resolving now is before the policy's monitoring period ends, or None."""
    sev = pol.severity(inc.severity)
    if sev is None or sev.monitor_for is None:
        return None
    period = format_duration(sev.monitor_for)
    since = inc.monitoring_since
    if since is None:
        where = f"{inc.number} is not in *{MONITORING}* yet"
    elif now < since + sev.monitor_for:
        ends = fmt_time(since + sev.monitor_for, pol.timezone)
        where = f"{inc.number} has been in *{MONITORING}* since {fmt_time(since, pol.timezone)}"
        where += f" (the period ends {ends})"
    else:
        return None
    # The way on first: a modal's field error shows only its beginning.
    return (
        f"To resolve anyway, write `{CONFIRM}` before the summary "
        f"(`/incident resolve {CONFIRM} <summary>`): the policy asks for {period} in "
        f"*{MONITORING}* before resolving a {inc.severity}, and {where}."
    )
