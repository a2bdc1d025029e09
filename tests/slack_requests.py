"""What Slack sends to the bot (slash commands, interactivity, events), signed like Slack.

Payload shapes follow what Slack actually posts, with ids, trigger_ids and
response_urls issued by the FakeSlack the bot talks to, so that the bot's
follow-up API calls (views.open, respond()) land on that fake.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp

from tests.slack_server import FakeSlack
from tests.slack_server.scope_use import COMMANDS_SCOPE, EVENT_SCOPES, subscription_of

FORM = "application/x-www-form-urlencoded"
# The legacy verification token Slack still includes; Bolt ignores it.
VERIFICATION_TOKEN = "fake-verification-token"


def sign(body: bytes, secret: str, timestamp: int) -> dict[str, str]:
    """Slack's v0 request signature headers (Content-Type is the caller's business)."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": f"v0={digest}"}


@dataclass
class Response:
    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any | None:
        """The body parsed as JSON, or None when it is not JSON (e.g. an empty ack)."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None


class SlackSender:
    def __init__(
        self,
        bot_url: str,
        signing_secret: str,
        slack: FakeSlack,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.bot_url = bot_url
        self.signing_secret = signing_secret
        self.slack = slack
        self.clock = clock

    # --- what Slack sends ----------------------------------------------------------

    async def command(
        self,
        text: str,
        *,
        user: str,
        channel: str,
        command: str = "/incident",
        trigger: bool = True,
        retry_num: int | None = None,
    ) -> Response:
        fields = self.command_fields(
            text, user=user, channel=channel, command=command, trigger=trigger
        )
        return await self._form(fields, _retry_headers(retry_num, None))

    def command_fields(
        self,
        text: str,
        *,
        user: str,
        channel: str,
        command: str = "/incident",
        trigger: bool = True,
    ) -> dict[str, str]:
        """A slash command's fields (over HTTP they come form-encoded; in Socket Mode, as
        an envelope's payload)."""
        channel_id, channel_name = self._channel(channel)
        fields = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.slack.team_id,
            "team_domain": self.slack.team_domain,
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user,
            "user_name": self._user_name(user),
            "command": command,
            "text": text,
            "api_app_id": self.slack.app_id,
            "is_enterprise_install": "false",
            "response_url": self.slack.new_response_url(),
        }
        if trigger:
            fields["trigger_id"] = self.slack.new_trigger_id(user)
        self.slack.scopes_used.add(COMMANDS_SCOPE)  # Slack delivers commands only with it
        return fields

    async def block_action(
        self,
        action_id: str,
        *,
        user: str,
        channel: str | None = None,
        value: str | None = None,
        message_ts: str | None = None,
        selected_option: str | None = None,
        view: dict[str, Any] | None = None,
    ) -> Response:
        payload = self._interaction("block_actions", user)
        payload["state"] = {"values": {}}
        blocks: list[Any] = []
        if channel is not None:
            channel_id, channel_name = self._channel(channel)
            message = self._message(channel_id, message_ts)
            blocks = message.get("blocks") or []
            payload.update(
                channel={"id": channel_id, "name": channel_name},
                container={
                    "type": "message",
                    "message_ts": message_ts,
                    "channel_id": channel_id,
                    "is_ephemeral": False,
                },
                message=message,
                response_url=self.slack.new_response_url(),
            )
        if view is not None:
            full = self._full_view(view)
            blocks = full.get("blocks") or []
            payload.update(view=full, container={"type": "view", "view_id": full.get("id")})
        payload["actions"] = [_action(action_id, blocks, value, selected_option, self.clock())]
        return await self._payload(payload)

    async def view_submission(
        self,
        callback_id: str,
        values: dict[str, Any],
        *,
        user: str,
        private_metadata: str = "",
        view_id: str | None = None,
    ) -> Response:
        """Submit a modal. Without view_id, the latest modal opened with that callback_id is
        used (its blocks, id, and private_metadata unless one is given)."""
        opened = self._opened_view(callback_id, view_id)
        view = opened or {
            "id": view_id or self.slack.new_id("V"),
            "team_id": self.slack.team_id,
            "type": "modal",
            "title": {"type": "plain_text", "text": "Modal"},
            "blocks": [],
            "app_id": self.slack.app_id,
            "bot_id": self.slack.bot_id,
            "hash": "",
            "private_metadata": "",
        }
        view.update(
            callback_id=callback_id,
            state={"values": values},
            private_metadata=private_metadata or view.get("private_metadata", ""),
        )
        payload = self._interaction("view_submission", user)
        payload.update(view=view, response_urls=[])
        return await self._payload(payload)

    async def message_action(
        self, callback_id: str, *, user: str, channel: str, message: dict[str, Any]
    ) -> Response:
        channel_id, channel_name = self._channel(channel)
        payload = self._interaction("message_action", user)
        self.slack.scopes_used.add(COMMANDS_SCOPE)  # shortcuts too
        payload.update(
            callback_id=callback_id,
            action_ts=f"{self.clock():.6f}",
            channel={"id": channel_id, "name": channel_name},
            message_ts=message.get("ts"),
            message=message,
            response_url=self.slack.new_response_url(),
        )
        return await self._payload(payload)

    async def event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str | None = None,
    ) -> Response:
        body = json.dumps(self.event_callback(event, event_id=event_id)).encode()
        headers = {"Content-Type": "application/json", **self._signed(body)}
        return await self.raw(body, {**headers, **_retry_headers(retry_num, retry_reason)})

    def event_callback(
        self, event: dict[str, Any], *, event_id: str | None = None
    ) -> dict[str, Any]:
        """An Events API callback (the HTTP body; in Socket Mode, an envelope's payload)."""
        needed = EVENT_SCOPES.get(subscription_of(event))
        if needed is not None:  # the subscription Slack delivers it by needs this scope
            self.slack.scopes_used.add(needed)
        now = self.clock()
        return {
            "token": VERIFICATION_TOKEN,
            "team_id": self.slack.team_id,
            "api_app_id": self.slack.app_id,
            "event": {"event_ts": f"{now:.6f}", **event},
            "type": "event_callback",
            "event_id": event_id or self.slack.new_id("Ev"),
            "event_time": int(now),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.slack.team_id,
                    "user_id": self.slack.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }

    async def raw(self, body: bytes, headers: dict[str, str]) -> Response:
        """POST exactly these bytes and headers (for bad-signature / stale-timestamp tests)."""
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.bot_url, data=body, headers=headers) as resp,
        ):
            return Response(resp.status, await resp.text(), dict(resp.headers))

    # --- building blocks -----------------------------------------------------------

    def _signed(self, body: bytes) -> dict[str, str]:
        return sign(body, self.signing_secret, int(self.clock()))

    async def _form(self, fields: dict[str, str], extra: dict[str, str]) -> Response:
        body = urlencode(fields).encode()
        return await self.raw(body, {"Content-Type": FORM, **self._signed(body), **extra})

    async def _payload(self, payload: dict[str, Any]) -> Response:
        # Interactivity arrives form-encoded, as a single `payload` field holding JSON.
        return await self._form({"payload": json.dumps(payload)}, {})

    def _interaction(self, kind: str, user: str) -> dict[str, Any]:
        return {
            "type": kind,
            "token": VERIFICATION_TOKEN,
            "api_app_id": self.slack.app_id,
            "team": {"id": self.slack.team_id, "domain": self.slack.team_domain},
            "user": {
                "id": user,
                "username": self._user_name(user),
                "name": self._user_name(user),
                "team_id": self.slack.team_id,
            },
            "enterprise": None,
            "is_enterprise_install": False,
            "trigger_id": self.slack.new_trigger_id(user),
        }

    def _user_name(self, user: str) -> str:
        found = self.slack.users.get(user)
        return found.name if found else user

    def _channel(self, ref: str) -> tuple[str, str]:
        """(id, name) for a channel id or name; DMs are named "directmessage" by Slack."""
        if ref in self.slack.im_channels:
            return ref, "directmessage"
        found = self.slack.find_channel(ref)
        return (found.id, found.name) if found else (ref, ref)

    def _message(self, channel_id: str, ts: str | None) -> dict[str, Any]:
        for message in self.slack.messages(channel_id):
            if message.ts == ts:
                return message.to_api()
        return {"type": "message", "ts": ts, "text": ""}

    def _full_view(self, view: dict[str, Any]) -> dict[str, Any]:
        """Accept either Slack's view object or the dict the bot sent (slack.views[i].view)."""
        if "id" in view:
            return view
        for recorded in reversed(list(self.slack.current_views.values())):
            if recorded.view == view:
                return self._view_api(recorded.id)
        return view

    def _opened_view(self, callback_id: str, view_id: str | None) -> dict[str, Any] | None:
        views = self.slack.current_views
        if view_id:
            return self._view_api(view_id) if view_id in views else None
        for recorded in reversed(list(views.values())):
            if recorded.type == "modal" and recorded.view.get("callback_id") == callback_id:
                return self._view_api(recorded.id)
        return None

    def _view_api(self, view_id: str) -> dict[str, Any]:
        slack = self.slack
        return slack.current_views[view_id].to_api(slack.team_id, slack.app_id, slack.bot_id)


def _action(
    action_id: str,
    blocks: list[Any],
    value: str | None,
    selected_option: str | None,
    now: float,
) -> dict[str, Any]:
    """The `actions[0]` Slack sends, completed from the element in the blocks if found."""
    block_id, element = _find_element(blocks, action_id)
    kind = element.get("type") or ("static_select" if selected_option is not None else "button")
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block_id,
        "type": kind,
        "action_ts": f"{now:.6f}",
    }
    if "text" in element:
        action["text"] = element["text"]
    if selected_option is not None:
        labels = {o.get("value"): o.get("text", {}).get("text") for o in element.get("options", [])}
        label = labels.get(selected_option) or selected_option
        action["selected_option"] = {
            "text": {"type": "plain_text", "text": label},
            "value": selected_option,
        }
    elif value is not None or "value" in element:
        action["value"] = value if value is not None else element["value"]
    return action


def _find_element(blocks: list[Any], action_id: str) -> tuple[str, dict[str, Any]]:
    for block in blocks:
        if not isinstance(block, dict):
            continue
        candidates = [*block.get("elements", []), block.get("accessory"), block.get("element")]
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return str(block.get("block_id", "")), element
    return "", {}


def _retry_headers(retry_num: int | None, reason: str | None) -> dict[str, str]:
    if retry_num is None:
        return {}
    return {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": reason or "http_timeout"}
