"""What the domain needs from a chat system. Slack implements it in bot/slack/gateway.py;
`simulate` and unit tests implement it with a recorder. The domain never imports Slack."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

log = logging.getLogger(__name__)


class Control(StrEnum):
    """Buttons the domain asks for; the Slack side renders them (bot/slack/blocks.py)."""

    POST_UPDATE = "post_update"
    CHANGE_SEVERITY = "change_severity"
    ESCALATE = "escalate"
    RESOLVE = "resolve"
    SNOOZE = "snooze"
    ACKNOWLEDGE = "acknowledge"  # on a page's mention and DMs
    DRAFT_PUBLICATION = "draft_publication"  # "Draft it": the status-page update
    # After the incident (the message's `subject` names the step or the action item).
    FOLLOW_DONE = "follow_done"
    FOLLOW_SNOOZE = "follow_snooze"
    ADD_ACTION = "add_action"
    ACTION_DONE = "action_done"


INCIDENT_CONTROLS = (
    Control.POST_UPDATE,
    Control.CHANGE_SEVERITY,
    Control.ESCALATE,
    Control.RESOLVE,
)


@dataclass(frozen=True)
class Message:
    """A message as the domain sees it: text, optionally a heading and buttons."""

    text: str
    title: str | None = None
    incident_id: int | None = None
    controls: Sequence[Control] = field(default_factory=tuple)
    context: str | None = None
    # Which step of which incident sent it (e.g. "job:42:U123"): a step retried after a
    # crash first looks for its key, so a message is never sent twice.
    step: str | None = None
    # What the buttons are about within the incident (a follow-through step, an action
    # item), when the incident alone does not say.
    subject: str | None = None


class ChatCode(StrEnum):
    """The chat error codes the domain reacts to; the gateway translates its platform's
    into these (any other code is passed on as the platform wrote it, to be shown)."""

    TIMEOUT = "timeout"  # the call may or may not have been done
    NAME_TAKEN = "name_taken"  # create_channel: a channel of that name exists


class ChatError(Exception):
    """A chat call failed; `code` is a ChatCode, or the platform's error code (Slack's
    `error`) when the domain has no use for it but to show it."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}{': ' + detail if detail else ''}")
        self.code = code


class Chat(Protocol):
    async def create_channel(self, name: str, *, private: bool) -> str:
        """Create a channel and return its id; raises ChatError(ChatCode.NAME_TAKEN) when taken."""
        ...

    async def invite(self, channel: str, users: Sequence[str]) -> dict[str, str]:
        """Invite users; returns {user: error code} for those who could not be invited
        (being in the channel already is not an error)."""
        ...

    async def set_topic(self, channel: str, topic: str) -> None: ...

    async def post(self, channel: str, message: Message) -> str:
        """Post to a channel id, channel name or user id (a DM); returns the message ts."""
        ...

    async def edit(self, channel: str, ts: str, message: Message) -> None:
        """Replace the message at `ts` (the pinned summary) with `message`."""
        ...

    async def pin(self, channel: str, ts: str) -> None: ...

    async def archive(self, channel: str) -> None:
        """Archive a channel (the public one an incident left for a private one)."""
        ...

    async def find_posted(self, channel: str, step: str, since: float) -> str | None:
        """The ts of a message carrying `step`, posted in `channel` (or the DM with a user)
        since `since` (epoch seconds); None when there is none or it cannot be read."""
        ...

    async def own_channels(self, names: Sequence[str]) -> dict[str, str]:
        """{name: id} of the unarchived channels among `names` that the bot created."""
        ...

    async def group_members(self, group_id: str) -> list[str]: ...

    async def set_group_members(self, group_id: str, users: Sequence[str]) -> None:
        """Make a user group's members exactly `users` (an on-call schedule's group)."""
        ...

    async def channel_members(self, channel: str) -> set[str]:
        """Who is in a channel now (who may see a private incident: bot/incidents/access.py)."""
        ...

    async def upload(self, channel: str, filename: str, content: str, title: str) -> None:
        """Share a text file (a postmortem draft, a long timeline) in a channel."""
        ...

    def user_ref(self, user_id: str) -> str:
        """How a user is mentioned in message text."""
        ...

    def channel_ref(self, channel: str) -> str:
        """How a channel is linked in message text."""
        ...

    def group_ref(self, group_id: str) -> str:
        """How a user group is mentioned in message text."""
        ...

    def literal(self, text: str) -> str:
        """User-typed text made safe to embed in formatted message text."""
        ...


# -- posting a step's message at most once across crashes ---------------------------
# A step (a reminder, a page, a channel set-up) cut short by a crash is run again. Each
# of its messages carries a step key; on the re-run a message is first looked for in
# the conversation's recent history and posted only if it is not there.

# Slack's message ts comes from Slack's clock, not ours: look a little further back.
CLOCK_SKEW = timedelta(minutes=1)


def step_key(step: str, where: str, part: str = "") -> str:
    return f"{step}:{where}" + (f":{part}" if part else "")


async def post_once(chat: Chat, where: str, message: Message, retry_since: datetime | None) -> str:
    """Post `message` to `where`; when `retry_since` is given (a re-run of a step first
    tried after that instant), return the ts of the copy already posted, if any."""
    if retry_since is not None and message.step:
        since = (retry_since - CLOCK_SKEW).timestamp()
        ts = await chat.find_posted(where, message.step, since)
        if ts is not None:
            log.info("%s already reached %s before a restart; not sent again", message.step, where)
            return ts
    return await chat.post(where, message)
