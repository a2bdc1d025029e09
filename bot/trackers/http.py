"""One HTTP call to a tracker, its answer sorted into what the outbox understands: a
429 (or GitHub's rate-limit 403), a 5xx, a timeout or a refused connection may succeed
later (retried, with a growing wait); any other 4xx is kept as failed with what the
tracker said."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.incidents.chat import ChatError

TIMEOUT = aiohttp.ClientTimeout(total=15)


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any


class Http:
    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    async def call(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
    ) -> Answer:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=TIMEOUT)
        try:
            async with self._session.request(
                method, url, headers=dict(headers), json=json_body, params=params
            ) as r:
                text = await r.text()
                try:
                    body = json.loads(text) if text else None
                except ValueError:
                    body = text
                status = r.status
                # GitHub says a rate limit with a 403 too, its remaining quota at 0.
                limited = status == 403 and r.headers.get("x-ratelimit-remaining") == "0"
        except TimeoutError:
            raise ChatError("timeout", url) from None
        except aiohttp.ClientError as e:
            raise ChatError("connection_error", type(e).__name__) from None
        if status == 429 or limited:
            raise ChatError("ratelimited", url)
        if status >= 500:
            raise ChatError("service_unavailable", f"{status}")
        if status >= 400:
            raise ChatError(f"{status}: {_said(body)}"[:300])
        return Answer(status, body)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _said(body: Any) -> str:
    """The error message of a GitHub ({"message"}), Jira ({"errorMessages", "errors"})
    or other answer."""
    if isinstance(body, dict):
        if body.get("message"):
            return str(body["message"])
        parts = [str(m) for m in body.get("errorMessages") or []]
        parts += [f"{k}: {v}" for k, v in (body.get("errors") or {}).items()]
        if parts:
            return "; ".join(parts)
    return str(body or "refused")[:200]
