"""Local PagerDuty (Events API v2) and Opsgenie (Alert API) servers for the tests: they
answer the documented request shapes (202 accepted; 400 / 401 / 422 refused; 429
throttled) and record every request they got, and the alerts that resulted."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web


@dataclass
class Got:
    path: str
    body: dict[str, Any]
    status: int


@dataclass
class Alert:
    key: str
    status: str = "triggered"  # triggered | acknowledged | resolved
    triggers: int = 0


class LocalService:
    """An aiohttp server on loopback that records what it got."""

    def __init__(self) -> None:
        self.got: list[Got] = []
        self.alerts: dict[str, Alert] = {}
        self.keys: set[str] = set()
        # Statuses to answer next instead of handling (429, 500...), in order.
        self.faults: list[int] = []
        # Called with each request before it is answered (a test kills the bot here).
        self.on_request: Callable[[Got], None] | None = None
        self._runner: web.AppRunner | None = None
        self.url = ""

    def app(self) -> web.Application:
        raise NotImplementedError

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app())
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _record(self, path: str, body: dict[str, Any], status: int) -> Got:
        got = Got(path, body, status)
        self.got.append(got)
        if self.on_request is not None:
            self.on_request(got)
        return got

    def accepted(self, what: str) -> list[Got]:
        return [g for g in self.got if g.status == 202 and what in (g.path, action_of(g))]


async def started(pd_key: str, og_key: str) -> tuple[LocalPagerDuty, LocalOpsgenie]:
    """Both servers, running, each accepting its one key."""
    pd, og = LocalPagerDuty(), LocalOpsgenie()
    pd.keys.add(pd_key)
    og.keys.add(og_key)
    await pd.start()
    await og.start()
    return pd, og


def action_of(got: Got) -> str:
    return str(got.body.get("event_action") or got.path.rsplit("/", 1)[-1])


class LocalPagerDuty(LocalService):
    """POST /v2/enqueue: trigger, acknowledge, resolve; one alert per dedup_key."""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v2/enqueue", self._enqueue)
        return app

    async def _enqueue(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            self._record("/v2/enqueue", {}, 400)
            return _pd_invalid(["Event object is not JSON"])
        if self.faults:
            status = self.faults.pop(0)
            self._record("/v2/enqueue", body, status)
            if status == 429:
                return web.json_response(
                    {
                        "status": "throttle event",
                        "message": "Requests for this service are "
                        "arriving too quickly.  Please retry later.",
                    },
                    status=429,
                )
            return web.json_response({"status": "error", "message": "internal"}, status=status)
        errors = _pd_errors(body, self.keys)
        self._record("/v2/enqueue", body, 400 if errors else 202)
        if errors:
            return _pd_invalid(errors)
        key = str(body.get("dedup_key") or uuid.uuid4().hex)
        action = body["event_action"]
        alert = self.alerts.setdefault(key, Alert(key))
        if action == "trigger":
            alert.triggers += 1
        else:
            alert.status = {"acknowledge": "acknowledged", "resolve": "resolved"}[action]
        return web.json_response(
            {"status": "success", "message": "Event processed", "dedup_key": key}, status=202
        )


def _pd_errors(body: dict[str, Any], keys: set[str]) -> list[str]:
    errors = []
    if body.get("routing_key") not in keys:
        errors.append("Invalid routing key")
    action = body.get("event_action")
    if action not in ("trigger", "acknowledge", "resolve"):
        errors.append("'event_action' is invalid (must be one of trigger, acknowledge, resolve)")
    if action == "trigger":
        payload = body.get("payload")
        if not isinstance(payload, dict):
            errors.append("'payload' is missing or blank")
        else:
            for name in ("summary", "source", "severity"):
                if not payload.get(name):
                    errors.append(f"'payload.{name}' is missing or blank")
            if payload.get("severity") not in ("critical", "error", "warning", "info", None):
                errors.append("'payload.severity' is invalid")
    elif action and not body.get("dedup_key"):
        errors.append("'dedup_key' is missing or blank")
    return errors


def _pd_invalid(errors: list[str]) -> web.Response:
    return web.json_response(
        {"status": "invalid event", "message": "Event object is invalid", "errors": errors},
        status=400,
    )


class LocalOpsgenie(LocalService):
    """POST /v2/alerts (create), /v2/alerts/{alias}/acknowledge and /close with
    identifierType=alias; `Authorization: GenieKey <key>`; one alert per alias."""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v2/alerts", self._create)
        app.router.add_post("/v2/alerts/{alias}/{action}", self._act)
        return app

    def _answer(self, status: int, message: str) -> web.Response:
        return web.json_response(
            {"result": message, "message": message, "took": 0.01, "requestId": uuid.uuid4().hex}
            if status == 202
            else {"message": message, "took": 0.0, "requestId": uuid.uuid4().hex},
            status=status,
        )

    async def _read(self, request: web.Request) -> tuple[dict[str, Any], web.Response | None]:
        try:
            body = await request.json()
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        if self.faults:
            status = self.faults.pop(0)
            self._record(request.path, body, status)
            return body, self._answer(status, "Too many requests" if status == 429 else "error")
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("GenieKey ") or auth[len("GenieKey ") :] not in self.keys:
            self._record(request.path, body, 401)
            return body, self._answer(401, "Could not authenticate")
        return body, None

    async def _create(self, request: web.Request) -> web.Response:
        body, refused = await self._read(request)
        if refused is not None:
            return refused
        message = body.get("message")
        if not isinstance(message, str) or not message or len(message) > 130:
            self._record(request.path, body, 422)
            return self._answer(422, "Message can not be empty or longer than 130 characters.")
        self._record(request.path, body, 202)
        alias = str(body.get("alias") or uuid.uuid4().hex)
        alert = self.alerts.setdefault(alias, Alert(alias))
        alert.triggers += 1
        return self._answer(202, "Request will be processed")

    async def _act(self, request: web.Request) -> web.Response:
        body, refused = await self._read(request)
        if refused is not None:
            return refused
        action = request.match_info["action"]
        if action not in ("acknowledge", "close") or request.query.get("identifierType") != "alias":
            self._record(request.path, body, 422)
            return self._answer(422, "identifierType must be alias for these tests")
        self._record(request.path, body, 202)
        alert = self.alerts.setdefault(
            request.match_info["alias"], Alert(request.match_info["alias"])
        )
        alert.status = "acknowledged" if action == "acknowledge" else "resolved"
        return self._answer(202, "Request will be processed")
