"""GET /metrics: Prometheus' text format, from prometheus-client's default registry
(which adds the process's CPU, memory and file descriptors).

The series are defined here, once; the code that knows the fact increments them: the
Slack client (bot/ops/slack_metrics.py), the scheduler (lateness), the event listener
(events recorded), the HTTP front door (acknowledgement latency). The backlog gauges
are read from the store at every scrape, so several replicas report the same truth.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest

from bot.clock import Clock
from bot.store.backlog import Backlog, backlog
from bot.store.repo import Store

# A reminder is due to the second; minutes late means the bot was down or stuck.
LATENESS_BUCKETS = (0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600)
# Slack gives an app 3 s to acknowledge; most acks should take milliseconds.
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5)

REMINDER_LATENESS = Histogram(
    "incident_bot_reminder_lateness_seconds",
    "How long after its due time an update reminder was fired",
    buckets=LATENESS_BUCKETS,
)
PAGE_LATENESS = Histogram(
    "incident_bot_page_lateness_seconds",
    "How long after its due time an escalation (a page) was fired",
    buckets=LATENESS_BUCKETS,
)
DUE_PENDING = Gauge("incident_bot_due_rows_pending", "Due rows waiting (reminders, pages, set-ups)")
DUE_NOW = Gauge("incident_bot_due_rows_due", "Pending due rows whose time has come")
DUE_OVERDUE = Gauge(
    "incident_bot_due_rows_overdue", "Pending due rows later than the self-check's threshold"
)
CLAIMS_STALE = Gauge(
    "incident_bot_claims_past_lease",
    "Claimed due rows held past the lease and the threshold (nobody took them back)",
)
OUTBOX_PENDING = Gauge(
    "incident_bot_outbox_rows_pending", "Outbox rows (posts, DMs, invites) waiting to be sent"
)
OUTBOX_OVERDUE = Gauge(
    "incident_bot_outbox_rows_overdue", "Outbox rows written longer ago than the threshold"
)
SLACK_CALLS = Counter("incident_bot_slack_calls", "Slack Web API calls", ["method"])
SLACK_ERRORS = Counter(
    "incident_bot_slack_errors",
    "Slack Web API calls that failed, by error code",
    ["method", "error"],
)
SLACK_RATE_LIMITED = Counter(
    "incident_bot_slack_rate_limited", "Slack Web API answers 429 (each retry counts)", ["method"]
)
EVENTS_RECORDED = Counter(
    "incident_bot_events_recorded",
    "Slack events recorded in incident timelines (new lines only)",
    ["kind"],
)
ACK_SECONDS = Histogram(
    "incident_bot_ack_seconds",
    "From a Slack request's arrival to the bot's answer",
    ["kind"],
    buckets=ACK_BUCKETS,
)
SELF_CHECK_FAILING = Gauge(
    "incident_bot_self_check_failing", "1 while at least one self-check fails, else 0"
)


def observe_lateness(kind: str, late: timedelta) -> None:
    """A due row fired `late` after its time (negative: early, counted as 0)."""
    seconds = max(late.total_seconds(), 0.0)
    if kind == "nag":
        REMINDER_LATENESS.observe(seconds)
    elif kind == "escalate":
        PAGE_LATENESS.observe(seconds)


def set_backlog(b: Backlog) -> None:
    DUE_PENDING.set(b.pending)
    DUE_NOW.set(b.due)
    DUE_OVERDUE.set(b.overdue)
    CLAIMS_STALE.set(b.stale_claims + b.outbox_stale_claims)
    OUTBOX_PENDING.set(b.outbox_pending)
    OUTBOX_OVERDUE.set(b.outbox_overdue)


async def read_backlog(
    store: Store, clock: Clock, *, overdue_after: timedelta, stale_after: timedelta
) -> Backlog:
    now = clock.now()
    b = await backlog(
        store, now, overdue_before=now - overdue_after, stale_before=now - stale_after
    )
    set_backlog(b)
    return b


def metrics_handler(
    refresh: Callable[[], Awaitable[object]],
) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def metrics(request: web.Request) -> web.Response:
        try:
            await refresh()
        except Exception:  # the database is down: serve the rest (the self-check says so)
            pass
        body = generate_latest(REGISTRY)
        # aiohttp wants the charset apart from the content type.
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    return metrics
