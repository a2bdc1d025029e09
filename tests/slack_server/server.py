"""FakeSlack: the workspace behind an aiohttp server speaking the Slack Web API."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml
from aiohttp import web

from .errors import Args, RateLimited, SlackError, bool_arg
from .handlers import HANDLERS
from .models import Call
from .scope_use import list_kinds, method_scopes
from .socket_mode import SocketMode
from .spec import check_required, check_scopes, load_spec
from .workspace import Workspace

log = logging.getLogger(__name__)


@dataclass
class Fault:
    status: int
    error: str | None
    retry_after: int | None
    remaining: int


@dataclass
class Reply:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class FakeSlack(Workspace):
    """A local, stateful Slack: point slack_sdk/Bolt at `api_url` with `bot_token`."""

    def __init__(
        self,
        scopes: Iterable[str],
        *,
        clock: Callable[[], float] = time.time,
        home_tab_enabled: bool = True,
        bot_name: str = "incident-bot",
    ) -> None:
        super().__init__(scopes, clock=clock, home_tab_enabled=home_tab_enabled, bot_name=bot_name)
        self.calls: list[Call] = []
        self._faults: dict[str, deque[Fault]] = {}
        self._stalls: dict[str, deque[tuple[float, bool]]] = {}
        self._response_keys: set[str] = set()
        self._runner: web.AppRunner | None = None
        self.socket_mode = SocketMode(self.app_id)

    @classmethod
    def from_manifest(
        cls, manifest_path: str | Path, *, clock: Callable[[], float] = time.time
    ) -> FakeSlack:
        """Grant exactly the manifest's bot scopes, so a missing scope fails like in Slack."""
        manifest = yaml.safe_load(Path(manifest_path).read_text())
        scopes = manifest.get("oauth_config", {}).get("scopes", {}).get("bot") or []
        features = manifest.get("features", {})
        return cls(
            scopes,
            clock=clock,
            home_tab_enabled=bool(features.get("app_home", {}).get("home_tab_enabled")),
            bot_name=features.get("bot_user", {}).get("display_name", "bot"),
        )

    # --- lifecycle ---------------------------------------------------------------

    @property
    def api_url(self) -> str:
        """What slack_sdk's `base_url` wants (trailing slash included)."""
        if not self.base_url:
            raise RuntimeError("FakeSlack is not started")
        return f"{self.base_url}/api/"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/response/{key}", self._handle_response_url)
        app.router.add_post("/upload/{file_id}", self._handle_upload)
        app.router.add_get("/link/", self.socket_mode.handle)
        # slack_sdk sends many POST methods' arguments in the query string (blocks included),
        # which real Slack accepts: lift aiohttp's 8 KiB request-line limit.
        self._runner = web.AppRunner(app, access_log=None, max_line_size=1 << 20)
        await self._runner.setup()
        # Bind port 0 ourselves so the OS picks a free port we can read back.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        await web.SockSite(self._runner, sock).start()
        self.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlack:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # --- test helpers ------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def new_response_url(self) -> str:
        if not self.base_url:
            raise RuntimeError("FakeSlack is not started")
        key = self.new_id("R")
        self._response_keys.add(key)
        return f"{self.base_url}/response/{key}"

    def fail(
        self,
        method: str,
        *,
        status: int = 200,
        error: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next `times` calls of `method` fail; queued faults apply in order."""
        if method not in HANDLERS:
            raise ValueError(f"FakeSlack does not implement {method!r}")
        if status == 200 and error is None:
            raise ValueError("give an error code, or a 429/5xx status")
        if times < 1:
            raise ValueError("times must be at least 1")
        self._faults.setdefault(method, deque()).append(Fault(status, error, retry_after, times))

    def stall(self, method: str, seconds: float, *, processed: bool, times: int = 1) -> None:
        """Answer the next `times` calls of `method` only after `seconds`, long after the
        client gave up: having done the work (`processed`: Slack did it, the answer was
        lost) or not (the request never got anywhere)."""
        if method not in HANDLERS:
            raise ValueError(f"FakeSlack does not implement {method!r}")
        for _ in range(times):
            self._stalls.setdefault(method, deque()).append((seconds, processed))

    # --- HTTP --------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        args = await _read_args(request)
        arg_token = args.pop("token", None)
        token = _bearer(request) or str(arg_token or "")
        call = Call(method, args)
        self.calls.append(call)
        stalls = self._stalls.get(method)
        if stalls:
            seconds, processed = stalls.popleft()
            if not processed:
                call.status = 504
                await asyncio.sleep(seconds)
                return web.Response(status=504, text="<html>504 Gateway Timeout</html>")
            reply = self._dispatch(method, token, args)
            call.ok, call.status = reply.body.get("ok") is True, reply.status
            await asyncio.sleep(seconds)
            return web.json_response(reply.body, status=reply.status, headers=reply.headers)
        try:
            reply = self._dispatch(method, token, args)
        except Exception as exc:
            # A bug in the fake: surface it loudly rather than as a plausible Slack error.
            log.exception("FakeSlack crashed on %s", method)
            reply = Reply(500, {"ok": False, "error": "fake_slack_crashed", "detail": repr(exc)})
        call.ok = reply.body.get("ok") is True
        call.error = reply.body.get("error")
        call.status = reply.status
        call.response = reply.body
        if reply.status >= 500 and call.error != "fake_slack_crashed":
            # Slack's edge answers 5xx with an HTML page, not JSON.
            html = f"<html><body>{reply.status} Server Error</body></html>"
            return web.Response(status=reply.status, text=html, content_type="text/html")
        return web.json_response(reply.body, status=reply.status, headers=reply.headers)

    def _dispatch(self, method: str, token: str, args: Args) -> Reply:
        spec = load_spec(method)
        if method == "apps.connections.open":  # the one method for the app-level token
            if token != self.socket_mode.app_token:
                return Reply(200, {"ok": False, "error": "invalid_auth" if token else "not_authed"})
            return Reply(200, {"ok": True, **self.socket_mode.open(self.base_url)})
        handler = HANDLERS.get(method)
        if spec is None or handler is None:
            return Reply(200, {"ok": False, "error": "unknown_method", "req_method": method})
        fault = self._take_fault(method)
        if fault is not None:
            return _fault_reply(fault)
        try:
            if not token:
                raise SlackError("not_authed")
            if token != self.bot_token:
                raise SlackError("invalid_auth")
            check_scopes(spec, self.scopes)
            check_required(spec, args)
            result = handler(self, args)
            self.scopes_used |= method_scopes(spec, args, self.scopes, self._kinds(method, args))
        except SlackError as err:
            return Reply(200, err.body())
        except RateLimited as limited:
            return _rate_limited(limited.retry_after)
        return Reply(200, {"ok": True, **result})

    def _kinds(self, method: str, args: Args) -> set[str] | None:
        """The kinds of conversation a call is about (see scope_use), None if it names none."""
        if method == "conversations.create":
            return {"groups" if bool_arg(args, "is_private") else "channels"}
        if method == "conversations.list":
            return list_kinds(args)
        if method == "conversations.open":
            return {"mpim" if "," in str(args.get("users", "")) else "im"}
        ref = args.get("channel") or args.get("channel_id")
        if not ref:
            return None
        ref = str(ref)
        if ref in self.im_channels or ref in self.users:
            return {"im"}
        found = self.find_channel(ref)
        if found is None:
            return None
        return {"groups" if found.is_private else "channels"}

    def _take_fault(self, method: str) -> Fault | None:
        queue = self._faults.get(method)
        if not queue:
            return None
        fault = queue[0]
        fault.remaining -= 1
        if fault.remaining == 0:
            queue.popleft()
        return fault

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        if request.match_info["key"] not in self._response_keys:
            return web.Response(status=404, text="no_service")
        try:
            payload = await request.json()
        except ValueError:
            return web.Response(status=400, text="invalid_payload")
        self.responses.append(payload)
        return web.Response(text="ok")

    async def _handle_upload(self, request: web.Request) -> web.Response:
        upload = self.files.get(request.match_info["file_id"])
        if upload is None:
            return web.Response(status=404, text="file_not_found")
        upload.content = await request.read()
        # slack_sdk reads upload answers as text/plain, like files.slack.com sends.
        return web.Response(text=f"OK - {len(upload.content)}")


def _fault_reply(fault: Fault) -> Reply:
    if fault.status == 429:
        return _rate_limited(fault.retry_after or 1)
    default = "internal_error" if fault.status >= 500 else "fatal_error"
    return Reply(fault.status, {"ok": False, "error": fault.error or default})


def _rate_limited(retry_after: int) -> Reply:
    return Reply(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)})


def _bearer(request: web.Request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


async def _read_args(request: web.Request) -> Args:
    """Query string, then a form or JSON body (slack_sdk sends both kinds)."""
    args: Args = dict(request.query)
    if request.method != "POST" or not request.can_read_body:
        return args
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            args.update(body)
    else:
        form = await request.post()
        args.update({k: v for k, v in form.items() if isinstance(v, str)})
    return args
