"""Counting every Slack Web API call, error and 429, at the one client class the bot
uses (bot/slack/gateway.make_client): the gateway's calls and Bolt's alike."""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.ops.metrics import SLACK_CALLS, SLACK_ERRORS, SLACK_RATE_LIMITED


def error_code(e: SlackApiError) -> str:
    """Slack's error code (`invalid_auth`), or the HTTP status for an HTML answer."""
    data = getattr(e.response, "data", None)
    if isinstance(data, dict):
        return str(data.get("error") or "unknown_error")
    return f"http_{getattr(e.response, 'status_code', 'error')}"


class MeteredWebClient(AsyncWebClient):
    async def api_call(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:
        SLACK_CALLS.labels(api_method).inc()
        try:
            return await super().api_call(api_method, **kwargs)
        except SlackApiError as e:
            SLACK_ERRORS.labels(api_method, error_code(e)).inc()
            raise
        except Exception as e:  # timeouts, refused connections
            SLACK_ERRORS.labels(api_method, type(e).__name__).inc()
            raise


class CountingRateLimitHandler(AsyncRateLimitErrorRetryHandler):
    """slack-sdk's 429 handler (it honours Retry-After), counting each 429 it sees."""

    async def can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is not None and response.status_code == 429:
            SLACK_RATE_LIMITED.labels(request.url.rstrip("/").rsplit("/", 1)[-1]).inc()
        return await super().can_retry_async(
            state=state, request=request, response=response, error=error
        )
