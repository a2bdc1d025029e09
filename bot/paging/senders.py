"""Delivers the outbox's paging rows over HTTP (aiohttp): a PagerDuty Events API v2
event, an Opsgenie Alert API call. The key is read from the environment variable the
row names (never stored in the row, nor in the policy) when it is sent.

Answers become the deliverer's codes: 2xx done; 429 and 5xx, a timeout or a refused
connection are transient (tried again later); any other 4xx (a bad key, a malformed
event) is permanent and reported in the incident channel (and on /healthz)."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import aiohttp

from bot.incidents.chat import ChatError
from bot.incidents.outbox import Op
from bot.store.paging import refused
from bot.store.repo import Store
from bot.store.tables import OutboxRow

log = logging.getLogger(__name__)

TIMEOUT = 10.0
OPSGENIE_PATHS = {"acknowledge": "acknowledge", "resolve": "close"}


class PagingSenders:
    def __init__(
        self, pagerduty_url: str, opsgenie_url: str, env: Mapping[str, str] | None = None
    ) -> None:
        self.pagerduty_url = pagerduty_url.rstrip("/")
        self.opsgenie_url = opsgenie_url.rstrip("/")
        self.env = os.environ if env is None else env

    def _key(self, row: OutboxRow) -> str:
        name = str(row.payload.get("env") or "")
        key = self.env.get(name, "").strip()
        if not key:
            raise ChatError("missing_key", f"set {name}")
        return key

    async def pagerduty(self, row: OutboxRow) -> dict[str, Any]:
        p = row.payload
        event: dict[str, Any] = {
            "routing_key": self._key(row),
            "event_action": p["action"],
            "dedup_key": p["dedup_key"],
        }
        if p["action"] == "trigger":
            event["payload"] = {
                "summary": p["summary"],
                "source": "incident-bot",
                "severity": p.get("severity") or "critical",
                "custom_details": p.get("details") or {},
            }
        body = await _post(f"{self.pagerduty_url}/v2/enqueue", event, {})
        return {"dedup_key": body.get("dedup_key"), "status": body.get("status")}

    async def opsgenie(self, row: OutboxRow) -> dict[str, Any]:
        p = row.payload
        headers = {"Authorization": f"GenieKey {self._key(row)}"}
        alias = str(p["dedup_key"])
        if p["action"] == "trigger":
            alert = {
                "message": str(p["summary"])[:130],
                "alias": alias,
                "description": str(p["summary"]),
                "priority": p.get("priority") or "P1",
                "source": "incident-bot",
                "details": {k: str(v) for k, v in (p.get("details") or {}).items()},
            }
            url = f"{self.opsgenie_url}/v2/alerts"
        else:
            alert = {"source": "incident-bot", "note": f"{p['action']}d in Slack"}
            path = OPSGENIE_PATHS[str(p["action"])]
            url = f"{self.opsgenie_url}/v2/alerts/{quote(alias, safe='')}/{path}"
            url += "?identifierType=alias"
        body = await _post(url, alert, headers)
        return {"request_id": body.get("requestId"), "result": body.get("result")}


async def _post(url: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    timeout = aiohttp.ClientTimeout(total=TIMEOUT)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.post(url, json=body, headers=headers) as r,
        ):
            try:
                answer = await r.json(content_type=None)
            except ValueError:
                answer = {}
            status = r.status
    except TimeoutError:
        raise ChatError("timeout") from None
    except aiohttp.ClientError as e:
        raise ChatError("connection_error", type(e).__name__) from None
    answer = answer if isinstance(answer, dict) else {}
    if 200 <= status < 300:
        return answer
    if status == 429:
        raise ChatError("rate_limited")
    if status >= 500:
        raise ChatError("service_unavailable", str(status))
    # The key is never logged; the service's message says what it disliked.
    log.warning("paging service refused (%d): %s", status, answer.get("message"))
    raise ChatError(f"http_{status}", str(answer.get("message") or ""))


async def paging_reasons(store: Store) -> list[str]:
    """/healthz: a paging service that refused our last alert (a bad key, most often)."""
    found = await refused(store, [Op.PAGERDUTY.value, Op.OPSGENIE.value])
    return [
        f"paging service `{key}` refused the last alert ({code}): pages do not reach it;"
        " check its key"
        for key, code in sorted(found.items())
    ]
