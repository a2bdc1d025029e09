"""The fake workspace's state, its setup helpers and the lookups handlers share."""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable, Iterable
from typing import Any

from .errors import Args, SlackError
from .models import Channel, Message, Trigger, UploadedFile, User, Usergroup, View
from .ratelimit import PerKeyBucket

TRIGGER_TTL = 3.0  # seconds: Slack's trigger_id lifetime


class Workspace:
    # Not token-shaped on purpose: secret scanners must not flag the test suite.
    bot_token = "xoxb-test-bot-token"
    team_domain = "fake-workspace"

    def __init__(
        self,
        scopes: Iterable[str],
        *,
        clock: Callable[[], float],
        home_tab_enabled: bool = True,
        bot_name: str = "incident-bot",
    ) -> None:
        self.clock = clock
        self.scopes: list[str] = list(scopes)
        # The granted scopes that calls, deliveries and posts relied on (scope_use.py).
        self.scopes_used: set[str] = set()
        self.home_tab_enabled = home_tab_enabled
        self.enforce_rate_limits = False  # chat.postMessage: ~1/s per channel, burst 5
        self.base_url = ""  # set once the HTTP server listens
        self._ids = itertools.count(1)
        self._last_ts = (0, 0)
        self.team_id = self.new_id("T")
        self.app_id = self.new_id("A")
        self.bot_id = self.new_id("B")
        self.users: dict[str, User] = {}
        self.channels: dict[str, Channel] = {}
        self.usergroups: dict[str, Usergroup] = {}
        self.im_channels: dict[str, str] = {}  # D... id -> user id
        self.dms: dict[str, list[Message]] = {}
        self.ephemerals: list[Message] = []
        self.responses: list[dict[str, Any]] = []
        self.views: list[View] = []
        self.current_views: dict[str, View] = {}  # id -> latest version
        self.triggers: dict[str, Trigger] = {}
        self.files: dict[str, UploadedFile] = {}
        self.message_buckets = PerKeyBucket(rate=1.0, burst=5, clock=clock)
        self.bot_user_id = self.add_user(bot_name, is_bot=True)

    # --- setup -----------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08X}"

    def _setup_id(self, prefix: str, wanted: str | None) -> str:
        """A fresh id, or the one a test asks for (e.g. to match ids written in a policy)."""
        if wanted is None:
            return self.new_id(prefix)
        taken = self.users.keys() | self.channels.keys() | self.usergroups.keys()
        if wanted in taken or not wanted.startswith(prefix):
            raise ValueError(f"id {wanted!r} is taken or does not start with {prefix!r}")
        return wanted

    def add_user(self, name: str, *, is_bot: bool = False, id: str | None = None) -> str:
        user = User(self._setup_id("U", id), name, self.team_id, is_bot=is_bot)
        self.users[user.id] = user
        return user.id

    def add_channel(
        self,
        name: str,
        *,
        private: bool = False,
        members: Iterable[str] = (),
        archived: bool = False,
        id: str | None = None,
    ) -> str:
        """Set up a channel directly, bypassing conversations.create's rules (not uniqueness)."""
        if self.channel_by_name(name) is not None:
            raise ValueError(f"a channel named {name!r} already exists")
        channel = Channel(
            self._setup_id("C", id),
            name,
            is_private=private,
            is_archived=archived,
            members=set(members),
            creator=self.bot_user_id,
            created=int(self.clock()),
        )
        self.channels[channel.id] = channel
        return channel.id

    def add_usergroup(self, handle: str, users: Iterable[str], *, id: str | None = None) -> str:
        group = Usergroup(self._setup_id("S", id), handle, list(users))
        self.usergroups[group.id] = group
        return group.id

    def new_trigger_id(self, user: str | None = None) -> str:
        """A trigger_id good for one views.open/push within TRIGGER_TTL seconds."""
        trigger_id = f"trg.{next(self._ids)}.{secrets.token_hex(8)}"
        self.triggers[trigger_id] = Trigger(self.clock(), user)
        return trigger_id

    # --- lookups ---------------------------------------------------------------

    def channel_by_name(self, name: str) -> Channel | None:
        name = name.removeprefix("#")
        return next((c for c in self.channels.values() if c.name == name), None)

    def find_channel(self, ref: str) -> Channel | None:
        return self.channels.get(ref) or self.channel_by_name(ref)

    def visible_channel(self, ref: str) -> Channel:
        """Slack hides private channels from non-members: they answer channel_not_found."""
        channel = self.find_channel(ref)
        if channel is None or (channel.is_private and self.bot_user_id not in channel.members):
            raise SlackError("channel_not_found")
        return channel

    def open_im(self, user: str) -> str:
        """The bot's DM channel with `user`: one stable D... id per user."""
        for im_id, im_user in self.im_channels.items():
            if im_user == user:
                return im_id
        im_id = self.new_id("D")
        self.im_channels[im_id] = user
        self.dms.setdefault(user, [])
        return im_id

    def conversation_messages(self, ref: str) -> tuple[str, list[Message]]:
        """(conversation id, its messages) for a visible channel, a D... id or a user id."""
        if ref in self.im_channels:
            return ref, self.dms[self.im_channels[ref]]
        if ref in self.users:
            im_id = self.open_im(ref)
            return im_id, self.dms[ref]
        channel = self.visible_channel(ref)
        return channel.id, channel.messages

    def messages(self, channel: str) -> list[Message]:
        """Messages in a channel (id or name), or in the bot's DM (D... id or user id)."""
        if channel in self.im_channels:
            return self.dms[self.im_channels[channel]]
        if channel in self.users:
            return self.dms.get(channel, [])
        found = self.find_channel(channel)
        return found.messages if found else []

    def find_message(self, ref: str, ts: str) -> Message:
        _, messages = self.conversation_messages(ref)
        for message in messages:
            if message.ts == ts:
                return message
        raise SlackError("message_not_found")

    def writable_conversation(self, ref: str, *, public_ok: bool) -> tuple[str, list[Message]]:
        """Where the bot may post: a DM, or a channel it is in (or any public channel when
        `public_ok` and the app has chat:write.public)."""
        if ref in self.im_channels or ref in self.users:
            return self.conversation_messages(ref)
        channel = self.visible_channel(ref)
        if channel.is_archived:
            raise SlackError("is_archived")
        if self.bot_user_id not in channel.members:
            public_post = public_ok and not channel.is_private
            if not (public_post and "chat:write.public" in self.scopes):
                raise SlackError("not_in_channel")
            self.scopes_used.add("chat:write.public")
        return channel.id, channel.messages

    def user(self, user_id: str) -> User:
        user = self.users.get(user_id)
        if user is None or user.deleted:
            raise SlackError("user_not_found")
        return user

    # --- ids and time ----------------------------------------------------------

    def next_ts(self) -> str:
        """A Slack message ts from the clock, strictly increasing even if the clock stalls."""
        now = self.clock()
        seconds, micros = int(now), round((now - int(now)) * 1_000_000) % 1_000_000
        if (seconds, micros) <= self._last_ts:
            seconds, micros = self._last_ts
            micros += 1
            if micros == 1_000_000:
                seconds, micros = seconds + 1, 0
        self._last_ts = (seconds, micros)
        return f"{seconds}.{micros:06d}"


# A Web API method: takes the decoded arguments, returns the body's fields besides "ok".
Handler = Callable[[Workspace, Args], dict[str, Any]]
