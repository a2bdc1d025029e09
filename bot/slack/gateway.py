"""The only module that calls the Slack Web API: it implements the domain's Chat port."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from bot.incidents.chat import ChatCode, ChatError, Message
from bot.settings import Settings
from bot.slack import mrkdwn
from bot.slack.ids import STEP_EVENT, SlackError
from bot.slack.messages import fallback_text, message_blocks
from bot.slack.metered import CountingRateLimitHandler, MeteredWebClient
from bot.slack.metered import error_code as _code
from bot.slack.pacing import Pacer

log = logging.getLogger(__name__)

# Invitation failures that mean "nothing to do", not "something went wrong".
HARMLESS_INVITE_ERRORS = {SlackError.ALREADY_IN_CHANNEL, SlackError.CANT_INVITE_SELF}
# Slack's codes that the domain reacts to, as the Chat port names them.
CHAT_CODES: dict[str, ChatCode] = {SlackError.NAME_TAKEN: ChatCode.NAME_TAKEN}


class GatewayErrorRetryHandler(AsyncServerErrorRetryHandler):
    """slack-sdk's handler retries 500 and 503 only; Slack's edge also answers 502 and
    504 when it is struggling, and a reminder must not be dropped for that."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and response.status_code in RETRIED_STATUSES


RETRIED_STATUSES = (500, 502, 503, 504)
TIMEOUT_TRIES = 3
HISTORY_PAGES = 5


def make_client(settings: Settings) -> AsyncWebClient:
    """A Web API client on SLACK_API_URL that retries 429s (honouring Retry-After),
    5xx answers and connection errors, which slack-sdk does not all do by default.
    Call it with the event loop running; `close_client` when done."""
    # One HTTP session, so connections are kept alive: without one slack-sdk opens a
    # session and a TCP connection per call, which a profile of a burst of declarations
    # showed costing more CPU than anything else in their set-up.
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=settings.slack_timeout))
    # Metered: every call, error and 429 is counted for /metrics.
    return MeteredWebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        session=session,
        timeout=settings.slack_timeout,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            CountingRateLimitHandler(max_retry_count=5),
            GatewayErrorRetryHandler(max_retry_count=3),
        ],
    )


async def close_client(client: AsyncWebClient) -> None:
    if client.session is not None:
        await client.session.close()


class SlackChat:
    def __init__(self, client: AsyncWebClient, pacer: Pacer | None = None) -> None:
        self.client = client
        self.pacer = pacer or Pacer()
        self._me: str | None = None

    async def close(self) -> None:
        await close_client(self.client)

    async def _call(
        self, method: str, *, idempotent: bool = False, incident: int | None = None, **kwargs: Any
    ) -> Any:
        """One Web API call. A timeout is ChatCode.TIMEOUT: Slack may or may not have
        done it. Only a call that is safe to repeat (`idempotent`) is simply tried again.
        `incident`: named in the log line of a failure."""
        about = f" for INC-{incident}" if incident is not None else ""
        # The typed client methods encode each method's arguments the way Slack wants.
        fn = getattr(self.client, method.replace(".", "_"))
        for attempt in range(1, TIMEOUT_TRIES + 1):
            try:
                return await fn(**kwargs)
            except SlackApiError as e:
                code = _code(e)
                log.warning("slack %s%s failed: %s", method, about, code)
                raise ChatError(CHAT_CODES.get(code, code)) from e
            except TimeoutError as e:
                log.warning("slack %s%s timed out (try %d)", method, about, attempt)
                if not idempotent or attempt == TIMEOUT_TRIES:
                    raise ChatError(ChatCode.TIMEOUT) from e
        raise AssertionError("unreachable")

    async def create_channel(self, name: str, *, private: bool) -> str:
        resp = await self._call("conversations.create", name=name, is_private=private)
        return str(resp["channel"]["id"])

    async def invite(self, channel: str, users: Sequence[str]) -> dict[str, str]:
        if not users:
            return {}
        errors: list[dict[str, Any]] = []
        for attempt in range(1, TIMEOUT_TRIES + 1):
            try:
                # force: invite the valid ones even when one of several is rejected.
                resp = await self.client.conversations_invite(
                    channel=channel, users=",".join(users), force=True
                )
                errors = resp.get("errors") or []
                break
            except SlackApiError as e:
                data = e.response.data if isinstance(e.response.data, dict) else {}
                # Per-user reasons when Slack gives them; else the call's reason for everyone.
                errors = data.get("errors") or [{"user": u, "error": _code(e)} for u in users]
                # Everyone invited already is the normal case of a retry, not a problem.
                level = logging.INFO if _code(e) in HARMLESS_INVITE_ERRORS else logging.WARNING
                log.log(level, "slack conversations.invite in %s: %s", channel, _code(e))
                break
            except TimeoutError:  # inviting again is harmless (already_in_channel)
                log.warning("slack conversations.invite timed out (try %d)", attempt)
                errors = [{"user": u, "error": ChatCode.TIMEOUT} for u in users]
        return {
            str(err.get("user")): str(err.get("error"))
            for err in errors
            if err.get("error") not in HARMLESS_INVITE_ERRORS
        }

    async def set_topic(self, channel: str, topic: str) -> None:
        await self._call("conversations.setTopic", idempotent=True, channel=channel, topic=topic)

    async def post(self, channel: str, message: Message) -> str:
        # Every message carries a key, so that a post that timed out (Slack may have
        # posted it) is looked for before it is sent again, never sent twice.
        key = message.step or f"post:{uuid.uuid4().hex}"
        metadata = {"event_type": STEP_EVENT, "event_payload": {"step": key}}
        started = time.time()
        for attempt in range(1, TIMEOUT_TRIES + 1):
            try:
                return await self._post(channel, message, metadata)
            except ChatError as e:
                if e.code != ChatCode.TIMEOUT or attempt == TIMEOUT_TRIES:
                    raise
            found = await self.find_posted(channel, key, started - 60)
            if found is not None:
                return found
        raise AssertionError("unreachable")

    async def _post(self, channel: str, message: Message, metadata: dict[str, Any]) -> str:
        # Channels are paced; a DM (to a user id) is not, so that one person paged for many
        # incidents cannot hold up the rest: Slack's 429s there are retried after Retry-After.
        is_dm = channel[:1] in {"U", "W", "D"}
        async with self.pacer.slot("" if is_dm else channel, bypass=is_dm):
            resp = await self._call(
                "chat.postMessage",
                incident=message.incident_id,
                channel=channel,
                text=fallback_text(message),
                blocks=message_blocks(message),
                unfurl_links=False,
                metadata=metadata,
            )
        return str(resp["ts"])

    async def edit(self, channel: str, ts: str, message: Message) -> None:
        # An edit is safe to repeat: the same content twice is the same message.
        await self._call(
            "chat.update",
            idempotent=True,
            channel=channel,
            ts=ts,
            text=fallback_text(message),
            blocks=message_blocks(message),
        )

    async def find_posted(self, channel: str, step: str, since: float) -> str | None:
        try:
            if channel[:1] in {"U", "W"}:  # a DM: its conversation id first
                resp = await self._call("conversations.open", idempotent=True, users=channel)
                channel = str(resp["channel"]["id"])
            cursor = None
            for _ in range(HISTORY_PAGES):
                resp = await self._call(
                    "conversations.history",
                    idempotent=True,
                    channel=channel,
                    oldest=f"{since:.6f}",
                    limit=200,
                    include_all_metadata=True,
                    **({"cursor": cursor} if cursor else {}),
                )
                for m in resp.get("messages") or []:
                    meta = m.get("metadata") or {}
                    payload = meta.get("event_payload") or {}
                    if meta.get("event_type") == STEP_EVENT and payload.get("step") == step:
                        return str(m["ts"])
                cursor = (resp.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    return None
        except ChatError as e:
            # Unreadable (not in the channel, say): sending again is the lesser harm.
            log.warning("cannot check %s for %s: %s", channel, step, e.code)
        return None

    async def own_channels(self, names: Sequence[str]) -> dict[str, str]:
        wanted, found = set(names), {}
        cursor = None
        me = await self._bot_user()
        while True:
            resp = await self._call(
                "conversations.list",
                idempotent=True,
                types="public_channel,private_channel",
                exclude_archived=True,
                limit=1000,
                **({"cursor": cursor} if cursor else {}),
            )
            for c in resp.get("channels") or []:
                if c.get("name") in wanted and c.get("creator") == me:
                    found[str(c["name"])] = str(c["id"])
            cursor = (resp.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return found

    async def _bot_user(self) -> str:
        if self._me is None:
            resp = await self._call("auth.test", idempotent=True)
            self._me = str(resp["user_id"])
        return self._me

    async def pin(self, channel: str, ts: str) -> None:
        try:
            await self._call("pins.add", idempotent=True, channel=channel, timestamp=ts)
        except ChatError as e:
            if e.code != SlackError.ALREADY_PINNED:
                raise

    async def archive(self, channel: str) -> None:
        try:
            await self._call("conversations.archive", idempotent=True, channel=channel)
        except ChatError as e:
            if e.code != SlackError.ALREADY_ARCHIVED:
                raise

    async def group_members(self, group_id: str) -> list[str]:
        resp = await self._call("usergroups.users.list", idempotent=True, usergroup=group_id)
        return [str(u) for u in resp.get("users") or []]

    async def set_group_members(self, group_id: str, users: Sequence[str]) -> None:
        # The whole list each time: the same call made twice leaves the same group.
        await self._call(
            "usergroups.users.update", idempotent=True, usergroup=group_id, users=",".join(users)
        )

    async def channel_members(self, channel: str) -> set[str]:
        members: set[str] = set()
        cursor = None
        while True:
            resp = await self._call(
                "conversations.members",
                idempotent=True,
                channel=channel,
                limit=1000,
                **({"cursor": cursor} if cursor else {}),
            )
            members.update(str(u) for u in resp.get("members") or [])
            cursor = (resp.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return members

    async def upload(self, channel: str, filename: str, content: str, title: str) -> None:
        # files.upload was retired in 2025: v2 is getUploadURLExternal + complete.
        try:
            await self.client.files_upload_v2(
                channel=channel, filename=filename, content=content, title=title
            )
        except SlackApiError as e:
            raise ChatError(_code(e)) from e

    def user_ref(self, user_id: str) -> str:
        return mrkdwn.user(user_id)

    def group_ref(self, group_id: str) -> str:
        return mrkdwn.group(group_id)

    def literal(self, text: str) -> str:
        return mrkdwn.escape(text)

    def channel_ref(self, channel: str) -> str:
        return mrkdwn.channel(channel)
