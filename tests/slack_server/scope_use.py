"""Which granted scope a request used, so that a test can find a manifest scope nothing needs.

A method definition lists every scope that allows the method (any one suffices, see
`check_scopes`). Which one a call uses depends on the conversation it is about, as in
Slack: `channels:*` for a public channel, `groups:*` for a private one, `im:*` for a DM,
`mpim:*` for a group DM. Slack also needs a scope to deliver an event or a command.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .errors import Args
from .spec import MethodSpec

# The scope each Events API subscription needs (api.slack.com/events, "Required scopes").
EVENT_SCOPES: dict[str, str | None] = {
    "message.channels": "channels:history",
    "message.groups": "groups:history",
    "message.im": "im:history",
    "message.mpim": "mpim:history",
    "channel_left": "channels:read",
    "group_left": "groups:read",
    "app_home_opened": None,
}
# A slash command or a shortcut reaches the app only with this scope.
COMMANDS_SCOPE = "commands"
# `channel_type` of a message event -> the subscription that delivers it.
MESSAGE_SUBSCRIPTIONS = {
    "channel": "message.channels",
    "group": "message.groups",
    "im": "message.im",
    "mpim": "message.mpim",
}
LIST_TYPES = {"public_channel": "channels", "private_channel": "groups", "im": "im", "mpim": "mpim"}


def subscription_of(event: dict[str, Any]) -> str:
    """The manifest's `bot_events` name under which Slack delivers this event."""
    kind = str(event.get("type", ""))
    if kind == "message":
        return MESSAGE_SUBSCRIPTIONS.get(str(event.get("channel_type", "channel")), kind)
    return kind


def method_scopes(
    spec: MethodSpec, args: Args, granted: Iterable[str], kinds: set[str] | None
) -> set[str]:
    """The granted scopes this call relied on. `kinds`: the conversation kinds it is about
    (`channels`, `groups`, `im`, `mpim`), None when the call names no conversation; then
    every granted scope that allows the method counts (several cannot be told apart)."""
    allowed = [s for s in spec.scopes if s in set(granted)]
    if len(allowed) <= 1 or not kinds:
        return set(allowed)
    return {s for s in allowed if s.split(":")[0] in kinds} or set(allowed)


def list_kinds(args: Args) -> set[str]:
    """conversations.list: the kinds its `types` asks for (public channels by default)."""
    types = str(args.get("types") or "public_channel").split(",")
    return {LIST_TYPES[t.strip()] for t in types if t.strip() in LIST_TYPES}
