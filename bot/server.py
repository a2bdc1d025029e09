"""The Bolt app and the HTTP server: POST /slack/events, GET /healthz; Socket Mode switch."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import time
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond
from sqlalchemy import text

from bot.services import Services
from bot.slack import listeners
from bot.slack.gateway import close_client, make_client
from bot.statuspage.page import add_routes as add_status_routes

log = logging.getLogger(__name__)

SERVICES_KEY = web.AppKey("services", Services)
BOLT_KEY = web.AppKey("bolt", AsyncApp)
RECORDER_KEY = web.AppKey("recorder", AsyncApp)


def build_bolt(services: Services, *, recorder: bool = False) -> AsyncApp:
    """The app for commands, interactions and events; or (`recorder`) the one for the
    events the timeline records, which answers Slack only once they are stored: Slack
    re-sends an event it saw no answer to, never one it did, so a crash between an
    early answer and the write would lose the line for good."""
    settings = services.settings
    app = AsyncApp(
        # The client carries the token (and SLACK_API_URL, and the retry handlers).
        signing_secret=settings.slack_signing_secret,
        client=make_client(settings),
        # Commands answer before their (slow) work; handlers are idempotent anyway.
        process_before_response=recorder,
        # The timeline records the bot's own posts too.
        ignoring_self_events_enabled=False,
    )
    if recorder:
        listeners.events.register(app, services)
    else:
        listeners.register(app, services)

    @app.error
    async def on_error(
        error: Exception, body: dict[str, Any], respond: AsyncRespond | None
    ) -> None:
        log.exception("unhandled error in a listener", exc_info=error)
        if respond is not None and body.get("response_url"):
            await respond(
                response_type="ephemeral",
                replace_original=False,
                text="Something went wrong on our side; nothing was changed by the failing step. "
                "Try again, and tell your bot operator if it keeps happening.",
            )

    return app


RECORDED_EVENTS = {"message", "channel_left", "group_left"}


def _recorded_event(raw: bytes) -> bool:
    """An Events API callback for the timeline (a cheap look before Bolt's full one)."""
    if not raw.startswith(b"{") or b"event_callback" not in raw:
        return False
    try:
        body = json.loads(raw)
    except ValueError:
        return False
    return _recorded_body(body)


def _recorded_body(body: Any) -> bool:
    event = body.get("event") if isinstance(body, dict) else None
    return (
        body.get("type") == "event_callback"
        and isinstance(event, dict)
        and event.get("type") in RECORDED_EVENTS
    )


def socket_mode_handler(bolt: AsyncApp, recorder: AsyncApp, app_token: str) -> Any:
    """Socket Mode with the same split as /slack/events: the timeline's events are
    acknowledged only once stored (Slack re-sends an envelope left unacknowledged), the
    rest at once."""
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
    from slack_bolt.adapter.socket_mode.async_internals import (
        run_async_bolt_app,
        send_async_response,
    )
    from slack_sdk.socket_mode.request import SocketModeRequest

    class Handler(AsyncSocketModeHandler):
        async def handle(self, client: Any, req: SocketModeRequest) -> None:
            start = time.time()
            recorded = req.type == "events_api" and _recorded_body(req.payload)
            response = await run_async_bolt_app(recorder if recorded else self.app, req)
            await send_async_response(client, req, response, start)

    return Handler(bolt, app_token)


async def slack_events(request: web.Request) -> web.Response:
    raw = await request.read()
    bolt = request.app[RECORDER_KEY] if _recorded_event(raw) else request.app[BOLT_KEY]
    try:
        bolt_request = await to_bolt_request(request)
    except (TypeError, ValueError, KeyError, AttributeError):
        # Bolt builds its context before verifying the signature and crashes on some
        # malformed bodies (e.g. an event whose "user" is not a string): a 400, not a 500.
        log.warning("rejected a malformed request body to /slack/events")
        return web.Response(status=400, text="malformed request")
    bolt_response = await bolt.async_dispatch(bolt_request)
    return await to_aiohttp_response(bolt_response)


async def healthz(request: web.Request) -> web.Response:
    services = request.app[SERVICES_KEY]
    try:
        async with services.store.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as e:  # the probe must answer, not crash
        log.warning("health check: database unreachable: %s", type(e).__name__)
        return web.json_response({"ok": False, "database": "unreachable"}, status=503)
    return web.json_response({"ok": True, "policy": services.policy.version[:12]})


async def _close_clients(app: web.Application) -> None:
    for key in (BOLT_KEY, RECORDER_KEY):
        await close_client(app[key].client)


def build_web(services: Services, bolt: AsyncApp | None = None) -> web.Application:
    app = web.Application()
    app[SERVICES_KEY] = services
    app[BOLT_KEY] = bolt or build_bolt(services)
    app[RECORDER_KEY] = build_bolt(services, recorder=True)
    app.router.add_post("/slack/events", slack_events)
    app.router.add_get("/healthz", healthz)
    app.on_cleanup.append(_close_clients)
    add_status_routes(app, services.status_page)
    return app


async def start_http(
    services: Services, host: str = "0.0.0.0", port: int | None = None
) -> web.AppRunner:
    runner = web.AppRunner(build_web(services), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, services.settings.port if port is None else port)
    await site.start()
    return runner


POLICY_CHECK_SECONDS = 30


async def watch_policy(services: Services) -> None:
    """Pick up an edited policy file, only once it validates (open incidents keep theirs)."""
    while True:
        await asyncio.sleep(POLICY_CHECK_SECONDS)
        try:
            await services.policy.reload()
        except Exception:  # never let the watcher die
            log.exception("policy reload failed")


async def serve_forever(services: Services) -> None:
    settings = services.settings
    reloader = asyncio.create_task(watch_policy(services))
    bolt = build_bolt(services)
    # In Socket Mode /healthz still answers on $PORT so platforms can probe the process.
    web_app = build_web(services, bolt)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "0.0.0.0", settings.port).start()
    # Commands are answered at once; what fell due while the bot was down fires now,
    # once, in the scheduler's first pass; then it wakes 4 times a second.
    services.scheduler.start()
    try:
        if settings.socket_mode:
            log.info("Socket Mode; /healthz on port %d", settings.port)
            assert settings.slack_app_token is not None
            handler = socket_mode_handler(bolt, web_app[RECORDER_KEY], settings.slack_app_token)
            await handler.start_async()
        else:
            log.info("listening on port %d: POST /slack/events, GET /healthz", settings.port)
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await stop.wait()
            log.info("stopping: finishing the reminders under way")
    finally:
        reloader.cancel()
        await services.scheduler.drain()
        await runner.cleanup()
