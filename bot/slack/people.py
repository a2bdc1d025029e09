"""People's names from Slack (`users.info`, once per person per process) and Slack
markup made plain Markdown, for the postmortem and the export (incidents/people.py)."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import mrkdwn

log = logging.getLogger(__name__)


class SlackPeople:
    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._names: dict[str, str] = {}
        self._unknown: set[str] = set()  # asked once, not found: not asked again

    async def names(self, user_ids: Collection[str]) -> dict[str, str]:
        for user in sorted(set(user_ids) - set(self._names) - self._unknown):
            try:
                answer = await self.client.users_info(user=user)
            except SlackApiError as e:
                log.info("no name for %s: %s", user, e.response.get("error"))
                self._unknown.add(user)
                continue
            except (aiohttp.ClientError, TimeoutError) as e:
                # Slack unreachable: IDs for now, not one timeout per person.
                log.warning("cannot look up names: %s", type(e).__name__)
                break
            found = answer.get("user") or {}
            profile = found.get("profile") or {}
            name = (
                profile.get("display_name")
                or profile.get("real_name")
                or found.get("real_name")
                or found.get("name")
            )
            if name:
                self._names[user] = str(name)
            else:
                self._unknown.add(user)
        return {u: self._names[u] for u in user_ids if u in self._names}

    def mentioned(self, text: str) -> set[str]:
        return mrkdwn.mentioned_users(text)

    def markdown(self, text: str, names: Mapping[str, str]) -> str:
        return mrkdwn.to_markdown(text, names)
