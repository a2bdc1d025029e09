"""The operator's HTTP side, added to the bot's web app: GET /metrics, and the timing
of every Slack request from arrival to answer (the acknowledgement latency)."""

from __future__ import annotations

import time
from urllib.parse import parse_qs

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Handler

from bot.ops import metrics
from bot.services import Services

SLACK_EVENTS = "/slack/events"


def request_kind(raw: bytes) -> str:
    """command, interaction or event: how Slack encodes each (a form with `command`, a
    form with a JSON `payload`, a JSON body)."""
    if raw.startswith(b"{"):
        return "event"
    try:
        form = parse_qs(raw.decode("utf-8", "replace"), max_num_fields=64)
    except ValueError:  # more fields than any Slack request has
        return "other"
    if "command" in form:
        return "command"
    return "interaction" if "payload" in form else "other"


@web.middleware
async def time_acks(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path != SLACK_EVENTS or request.method != "POST":
        return await handler(request)
    started = time.perf_counter()
    try:
        return await handler(request)
    finally:
        # The handler has read the body already (aiohttp caches it), unless the client
        # went away first: then the request is timed as "other".
        try:
            kind = request_kind(await request.read())
        except (OSError, aiohttp.ClientError, web.HTTPException):
            kind = "other"
        metrics.ACK_SECONDS.labels(kind).observe(time.perf_counter() - started)


def add_ops_routes(app: web.Application, services: Services) -> None:
    async def refresh() -> object:
        return await metrics.read_backlog(
            services.store,
            services.clock,
            overdue_after=services.health.overdue_after,
            stale_after=services.health.stale_after,
        )

    app.router.add_get("/metrics", metrics.metrics_handler(refresh))
    app.middlewares.append(time_acks)
