"""The start-up checks that ask Slack (bot/ops/startup.py has the rest): a token Slack
rejects, an app token that cannot open Socket Mode, policy contacts the workspace does
not have. Without them a wrong bot token still answers /healthz and then no command,
and a rejected app token leaves slack_sdk retrying every 10 s with a traceback and no
word of ours.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.ops.startup import CHECK_TIMEOUT, StartupProblem, unreachable
from bot.policy.model import Policy
from bot.settings import Settings
from bot.slack.metered import error_code

APPS_URL = "https://api.slack.com/apps"
# What auth.test answers for a token that is wrong, revoked or of a removed app.
REJECTED_TOKEN = {
    "invalid_auth",
    "not_authed",
    "token_revoked",
    "token_expired",
    "account_inactive",
    "no_permission",
}


async def check_bot_token(client: AsyncWebClient, settings: Settings) -> dict[str, Any]:
    """auth.test: the workspace and bot user the token belongs to."""
    try:
        resp = await asyncio.wait_for(client.auth_test(), CHECK_TIMEOUT)
    except SlackApiError as e:
        code = error_code(e)
        if code in REJECTED_TOKEN:
            raise StartupProblem(
                f"Cannot serve: Slack rejected SLACK_BOT_TOKEN ({code}): copy the Bot User"
                f" OAuth Token (xoxb-...) from OAuth & Permissions at {APPS_URL}"
                " (reinstall the app if the token was revoked)."
            ) from None
        raise StartupProblem(f"Cannot serve: Slack's auth.test failed ({code}).") from None
    except Exception as e:  # timeouts, refused connections, DNS
        raise StartupProblem(
            "Cannot serve: "
            + unreachable(f"Slack is unreachable at {settings.slack_api_url}", e)
            + "; check the network or SLACK_API_URL."
        ) from None
    return dict(resp.data) if isinstance(resp.data, dict) else {}


async def check_app_token(settings: Settings) -> None:
    """Socket Mode: the app-level token must open a connection (connections:write)."""
    assert settings.slack_app_token is not None
    client = AsyncWebClient(base_url=settings.slack_api_url, timeout=settings.slack_timeout)
    try:
        await asyncio.wait_for(
            client.apps_connections_open(app_token=settings.slack_app_token), CHECK_TIMEOUT
        )
    except SlackApiError as e:
        raise StartupProblem(
            f"Cannot serve: Slack rejected SLACK_APP_TOKEN ({error_code(e)}): create an"
            " app-level token with connections:write (Basic Information > App-Level Tokens"
            f" at {APPS_URL}) and enable Socket Mode."
        ) from None
    except Exception as e:
        raise StartupProblem(
            "Cannot serve: "
            + unreachable(f"Slack is unreachable at {settings.slack_api_url}", e)
            + "; check the network or SLACK_API_URL."
        ) from None


async def missing_contacts(client: AsyncWebClient, policy: Policy) -> list[str]:
    """The policy's users and user groups that this workspace does not have: a page to
    them would reach nobody. One warning each (they may be added later)."""
    warnings: list[str] = []
    users = {k: c.user for k, c in policy.contacts.items() if c.user is not None}
    groups = {k: c.usergroup for k, c in policy.contacts.items() if c.usergroup is not None}
    for key, user in users.items():
        try:
            resp = await client.users_info(user=user)
            if (resp.get("user") or {}).get("deleted"):
                warnings.append(f"policy contact {key}: user {user} is deactivated")
        except SlackApiError as e:
            code = error_code(e)
            if code == "missing_scope":
                warnings.append("cannot check the policy's users: add the users:read scope")
                break
            if code in {"user_not_found", "user_not_visible"}:
                warnings.append(f"policy contact {key}: no user {user} in this workspace")
            else:
                warnings.append(f"policy contact {key}: cannot look up user {user} ({code})")
    if groups:
        try:
            resp = await client.usergroups_list(include_disabled=True)
        except SlackApiError as e:
            return [*warnings, f"cannot list user groups to check the policy ({error_code(e)})"]
        known = _enabled_groups(resp.get("usergroups") or [])
        for key, group in groups.items():
            if group not in known:
                warnings.append(f"policy contact {key}: no user group {group} in this workspace")
    return warnings


def _enabled_groups(listed: Iterable[dict[str, Any]]) -> set[str]:
    # A disabled group has date_delete set: paging it reaches nobody either.
    return {str(g.get("id")) for g in listed if not g.get("date_delete")}
