"""The Bolt app and the HTTP server: POST /slack/events, GET /healthz and /metrics; Socket
Mode switch; a graceful stop on SIGTERM.

One AsyncWebClient (one HTTP session, kept-alive connections) serves both Bolt apps and
the gateway: whoever builds the gateway makes it (gateway.make_client) and passes it
here; the gateway closes it (Services.close)."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import time
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.ops import metrics
from bot.ops.health import healthz_body
from bot.ops.routes import add_ops_routes
from bot.services import Services
from bot.settings import Role
from bot.slack import errors, listeners, payloads
from bot.slack.ids import EVENT_CALLBACK, SOCKET_EVENTS_API, Event
from bot.statuspage.page import add_routes as add_status_routes

log = logging.getLogger(__name__)

SERVICES_KEY = web.AppKey("services", Services)
BOLT_KEY = web.AppKey("bolt", AsyncApp)
RECORDER_KEY = web.AppKey("recorder", AsyncApp)


def build_bolt(services: Services, client: AsyncWebClient, *, recorder: bool = False) -> AsyncApp:
    """The app for commands, interactions and events; or (`recorder`) the one for the
    events the timeline records, which answers Slack only once they are stored: Slack
    re-sends an event it saw no answer to, never one it did, so a crash between an
    early answer and the write would lose the line for good."""
    settings = services.settings
    app = AsyncApp(
        # The client carries the token (and SLACK_API_URL, and the retry handlers).
        signing_secret=settings.slack_signing_secret,
        client=client,
        # Commands answer before their (slow) work; handlers are idempotent anyway.
        process_before_response=recorder,
        # The timeline records the bot's own posts too.
        ignoring_self_events_enabled=False,
    )
    errors.register(app)
    if recorder:
        listeners.events.register(app, services)
    else:
        listeners.register(app, services)
    return app


RECORDED_EVENTS = {Event.MESSAGE, Event.CHANNEL_LEFT, Event.GROUP_LEFT}


def _recorded_event(raw: bytes) -> bool:
    """An Events API callback for the timeline (a cheap look before Bolt's full one)."""
    if not raw.startswith(b"{") or EVENT_CALLBACK.encode() not in raw:
        return False
    try:
        body = json.loads(raw)
    except ValueError:
        return False
    return _recorded_body(body)


def _recorded_body(body: Any) -> bool:
    event = body.get("event") if isinstance(body, dict) else None
    return (
        body.get("type") == EVENT_CALLBACK
        and isinstance(event, dict)
        and isinstance(event.get("type"), str)  # a list would not even hash
        and event.get("type") in RECORDED_EVENTS
    )


# Socket Mode envelope types, named as /metrics names the HTTP requests.
SOCKET_KINDS = {"slash_commands": "command", "interactive": "interaction", "events_api": "event"}


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
    from slack_sdk.socket_mode.response import SocketModeResponse

    class Handler(AsyncSocketModeHandler):
        async def handle(self, client: Any, req: SocketModeRequest) -> None:
            start = time.time()
            if reason := payloads.malformed(req.payload):
                # Acknowledged: Slack would only re-send what can never be handled.
                log.warning("rejected a malformed Socket Mode %s envelope: %s", req.type, reason)
                await client.send_socket_mode_response(SocketModeResponse(req.envelope_id))
                return
            recorded = req.type == SOCKET_EVENTS_API and _recorded_body(req.payload)
            response = await run_async_bolt_app(recorder if recorded else self.app, req)
            await send_async_response(client, req, response, start)
            kind = SOCKET_KINDS.get(req.type, "other")
            metrics.ACK_SECONDS.labels(kind).observe(time.time() - start)

        async def close_async(self) -> None:
            # slack_sdk closes the WebSocket while its receiver task still reads it: the
            # receiver swallows the server's close reply, and close() waits 10 s for it.
            receiver = getattr(self.client, "message_receiver", None)
            if receiver is not None:
                receiver.cancel()
            await super().close_async()  # type: ignore[no-untyped-call]

    return Handler(bolt, app_token)


def _reparse_form(request: AsyncBoltRequest) -> None:
    """Bolt reads any form body holding the word "payload" as an interactivity payload
    and, finding no `payload` field, as empty: `/incident SEV2 payload API down` went
    unanswered. Such a body is parsed again as the form it is (the signature is checked
    on the raw body, which stays as it was)."""
    raw = request.raw_body
    if request.body or not raw or raw.startswith("{") or "payload" not in raw:
        return
    fields = dict(parse_qsl(raw, keep_blank_values=True))
    if "payload" not in fields:
        request.body = fields
        request.context = build_async_context(AsyncBoltContext(), fields)


def _signed(request: web.Request, raw: bytes) -> bool:
    """Only a body Slack signed is looked into: any other gets Bolt's 401, as before."""
    verifier = SignatureVerifier(request.app[SERVICES_KEY].settings.slack_signing_secret or "")
    try:
        return verifier.is_valid_request(raw, dict(request.headers))
    except ValueError:  # a timestamp that is not a number
        return False


async def slack_events(request: web.Request) -> web.Response:
    raw = await request.read()
    bolt = request.app[RECORDER_KEY] if _recorded_event(raw) else request.app[BOLT_KEY]
    try:
        bolt_request = await to_bolt_request(request)
        _reparse_form(bolt_request)
    except (TypeError, ValueError, KeyError, AttributeError):
        # Bolt builds its context before verifying the signature and crashes on some
        # malformed bodies (e.g. an event whose "user" is not a string): a 400, not a 500.
        log.warning("rejected a malformed request body to /slack/events")
        return web.Response(status=400, text="malformed request")
    if _signed(request, raw) and (reason := payloads.malformed(bolt_request.body)):
        log.warning("rejected a signed but malformed request to /slack/events: %s", reason)
        return web.Response(status=400, text=f"malformed request: {reason}")
    bolt_response = await bolt.async_dispatch(bolt_request)
    return await to_aiohttp_response(bolt_response)


async def healthz(request: web.Request) -> web.Response:
    services = request.app[SERVICES_KEY]
    # The database now, and the last self-check's reasons (bot/ops/health.py).
    status, body = await healthz_body(services.health, services.store)
    if status == 200:
        body["policy"] = services.policy.version[:12]
    return web.json_response(body, status=status)


def build_web(
    services: Services, client: AsyncWebClient, bolt: AsyncApp | None = None
) -> web.Application:
    app = web.Application()
    app[SERVICES_KEY] = services
    app.router.add_get("/healthz", healthz)
    add_ops_routes(app, services)
    if services.settings.role is Role.WORKER:
        # A worker takes no requests from Slack or readers: health and metrics only.
        return app
    app[BOLT_KEY] = bolt or build_bolt(services, client)
    app[RECORDER_KEY] = build_bolt(services, client, recorder=True)
    app.router.add_post("/slack/events", slack_events)
    add_status_routes(app, services.status_page)
    return app


async def start_http(
    services: Services, client: AsyncWebClient, host: str = "0.0.0.0", port: int | None = None
) -> web.AppRunner:
    runner = web.AppRunner(build_web(services, client), access_log=None)
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


async def serve_forever(services: Services, client: AsyncWebClient) -> None:
    settings = services.settings
    role = settings.role
    reloader = asyncio.create_task(watch_policy(services))
    bolt = None if role is Role.WORKER else build_bolt(services, client)
    # In Socket Mode, and in a worker, /healthz still answers on $PORT for the platform.
    web_app = build_web(services, client, bolt)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "0.0.0.0", settings.port).start()
    if role is not Role.WEB:
        # What fell due while the bot was down fires now, once, in the scheduler's first
        # pass; then it wakes 4 times a second, and the outbox is delivered as it fills.
        services.scheduler.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    handler = None
    try:
        if role is Role.WORKER:
            log.info("worker: firing due rows and delivering; GET /healthz, /metrics on %d",
                     settings.port)  # fmt: skip
        elif settings.socket_mode:
            assert settings.slack_app_token is not None and bolt is not None
            handler = socket_mode_handler(bolt, web_app[RECORDER_KEY], settings.slack_app_token)
            await handler.connect_async()
            log.info("Socket Mode; /healthz and /metrics on port %d", settings.port)
        else:
            log.info(
                "listening on port %d: POST /slack/events, GET /healthz, GET /metrics",
                settings.port,
            )
        # SIGTERM drains in every mode: no new envelopes, finish what is claimed.
        await stop.wait()
        log.info("stopping: finishing the reminders under way")
        if handler is not None:
            await handler.close_async()
    finally:
        reloader.cancel()
        await services.scheduler.drain()
        await runner.cleanup()
