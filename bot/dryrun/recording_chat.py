"""A Chat that records instead of calling Slack: for `simulate` and dry runs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.clock import Clock
from bot.incidents.chat import ChatError, Message
from bot.policy.model import Policy


@dataclass
class Event:
    at: datetime
    action: str  # create | invite | topic | post | dm | edit | pin | does | refused
    target: str
    text: str = ""
    buttons: list[str] = field(default_factory=list)

    def as_dict(self, start: datetime) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "offset_seconds": int((self.at - start).total_seconds()),
            "action": self.action,
            "target": self.target,
            "text": self.text,
            "buttons": self.buttons,
        }


class RecordingChat:
    """Names people after the policy's contact keys so the output reads like the runbook."""

    def __init__(self, clock: Clock, policy: Policy, people: dict[str, str] | None = None) -> None:
        self.clock = clock
        self.events: list[Event] = []
        self.channels: dict[str, str] = {}  # id -> name
        self.members: dict[str, set[str]] = {}  # id -> who was invited
        self.names: dict[str, str] = dict(people or {})
        for key, contact in policy.contacts.items():
            ref = contact.user or contact.usergroup
            if ref:
                self.names[ref] = key

    def record(self, action: str, target: str, text: str = "") -> None:
        """Something sent elsewhere than the chat (a PagerDuty trigger)."""
        self._log(action, target, text)

    def _log(self, action: str, target: str, text: str = "", buttons: Sequence[str] = ()) -> None:
        self.events.append(Event(self.clock.now(), action, target, text, list(buttons)))

    def note(self, action: str, target: str, text: str) -> None:
        """What a simulation's script did (`does`) or was told (`refused`), in its place."""
        self._log(action, target, text)

    async def create_channel(self, name: str, *, private: bool) -> str:
        if name in self.channels.values():
            raise ChatError("name_taken")
        channel_id = f"C{len(self.channels) + 1:08d}"
        self.channels[channel_id] = name
        self._log("create", f"#{name}", "private channel" if private else "public channel")
        return channel_id

    async def invite(self, channel: str, users: Sequence[str]) -> dict[str, str]:
        self._log("invite", self.channel_ref(channel), ", ".join(self.user_ref(u) for u in users))
        self.members.setdefault(channel, set()).update(users)
        return {}

    async def set_topic(self, channel: str, topic: str) -> None:
        self._log("topic", self.channel_ref(channel), topic)

    async def post(self, channel: str, message: Message) -> str:
        text = f"{message.title}\n{message.text}" if message.title else message.text
        buttons = [c.value for c in message.controls]
        # Channels are ones we created or "#name"s; anything else is a person (a DM).
        if channel not in self.channels and not channel.startswith("#"):
            self._log("dm", self.user_ref(channel), text, buttons)
        else:
            self._log("post", self.channel_ref(channel), text, buttons)
        return f"{self.clock.now().timestamp():.6f}"

    async def edit(self, channel: str, ts: str, message: Message) -> None:
        self._log("edit", self.channel_ref(channel), message.text)

    async def pin(self, channel: str, ts: str) -> None:
        self._log("pin", self.channel_ref(channel), "the announcement")

    async def archive(self, channel: str) -> None:
        self._log("archive", self.channel_ref(channel))

    async def find_posted(self, channel: str, step: str, since: float) -> str | None:
        return None  # a dry run never crashes half way

    async def own_channels(self, names: Sequence[str]) -> dict[str, str]:
        return {n: i for i, n in self.channels.items() if n in names}

    async def upload(self, channel: str, filename: str, content: str, title: str) -> None:
        self._log("upload", self.channel_ref(channel), f"{filename}: {title}")

    async def group_members(self, group_id: str) -> list[str]:
        # A dry run knows no members; the group stands for them.
        return [group_id]

    async def set_group_members(self, group_id: str, users: Sequence[str]) -> None:
        self._log("group", self.group_ref(group_id), ", ".join(self.user_ref(u) for u in users))

    async def channel_members(self, channel: str) -> set[str]:
        return set(self.members.get(channel, ()))

    def user_ref(self, user_id: str) -> str:
        return "@" + self.names.get(user_id, user_id)

    def channel_ref(self, channel: str) -> str:
        if channel in self.channels:
            return "#" + self.channels[channel]
        return channel if channel.startswith("#") else f"#{channel}"

    def group_ref(self, group_id: str) -> str:
        return "@" + self.names.get(group_id, group_id)

    def literal(self, text: str) -> str:
        return text
