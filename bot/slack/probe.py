"""The self-check's question to Slack: does it answer now, and accept our token?"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.settings import Settings
from bot.slack.metered import error_code


def slack_probe(settings: Settings) -> Callable[[], Awaitable[str | None]]:
    """auth.test on a client of its own, without the gateway's retries: the question is
    "does Slack answer now", and a check must end well before the next one starts."""
    timeout = min(float(settings.slack_timeout), settings.self_check_every)
    client = AsyncWebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=max(1, int(timeout)),
    )

    async def probe() -> str | None:
        try:
            await asyncio.wait_for(client.auth_test(), timeout)
        except SlackApiError as e:
            code = error_code(e)
            if code.startswith("http_"):
                return f"Slack unreachable (answered {code.removeprefix('http_')})"
            return f"Slack answers {code} to auth.test: check SLACK_BOT_TOKEN"
        except Exception as e:  # timeouts, refused connections, DNS
            return f"Slack unreachable ({type(e).__name__})"
        return None

    return probe
