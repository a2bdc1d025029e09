"""conversations.* methods that change a channel: create, invite, join, topic, purpose, archive."""

from __future__ import annotations

import re
from typing import Any

from ..errors import Args, SlackError, bool_arg, list_arg, str_arg
from ..models import Channel
from ..workspace import Handler, Workspace

NAME_MAX = 80
TOPIC_MAX = 250
# Slack also allows unicode letters; the bot only ever generates ASCII names.
NAME_CHARS = re.compile(r"^[a-z0-9_-]+$")


def check_channel_name(name: str) -> None:
    if not name:
        raise SlackError("invalid_name_required")
    if len(name) > NAME_MAX:
        raise SlackError("invalid_name_maxlength")
    if not NAME_CHARS.match(name):
        raise SlackError("invalid_name_specials")
    if not name.strip("-_"):
        raise SlackError("invalid_name_punctuation")


def _member_channel(ws: Workspace, args: Args) -> Channel:
    """A channel the bot is in and that is not archived (what writes to it require)."""
    channel = ws.visible_channel(str_arg(args, "channel"))
    if channel.is_archived:
        raise SlackError("is_archived")
    if ws.bot_user_id not in channel.members:
        raise SlackError("not_in_channel")
    return channel


def create(ws: Workspace, args: Args) -> dict[str, Any]:
    name = str_arg(args, "name")
    check_channel_name(name)
    # Archived channels keep their name, so it stays taken.
    if ws.channel_by_name(name) is not None:
        raise SlackError("name_taken")
    channel_id = ws.add_channel(
        name, private=bool_arg(args, "is_private"), members=[ws.bot_user_id]
    )
    return {"channel": ws.channels[channel_id].to_api(ws.bot_user_id)}


def invite(ws: Workspace, args: Args) -> dict[str, Any]:
    channel = _member_channel(ws, args)
    errors: list[dict[str, Any]] = []
    invited: list[str] = []
    for user in list_arg(args, "users"):
        if user == ws.bot_user_id:
            error = "cant_invite_self"
        elif user not in ws.users or ws.users[user].deleted:
            error = "user_not_found"
        elif user in channel.members:
            error = "already_in_channel"
        else:
            if user not in invited:
                invited.append(user)
            continue
        errors.append({"user": user, "ok": False, "error": error})
    # Slack fails the whole call on any bad user unless force=true asks to invite the rest.
    if errors and not (bool_arg(args, "force") and invited):
        raise SlackError(errors[0]["error"], errors=errors)
    channel.members.update(invited)
    out: dict[str, Any] = {"channel": channel.to_api(ws.bot_user_id)}
    if errors:
        out["errors"] = errors
    return out


def join(ws: Workspace, args: Args) -> dict[str, Any]:
    channel = ws.visible_channel(str_arg(args, "channel"))
    if channel.is_archived:
        raise SlackError("is_archived")
    out: dict[str, Any] = {}
    if ws.bot_user_id in channel.members:
        # Slack succeeds but warns.
        warning = "already_in_channel"
        out = {"warning": warning, "response_metadata": {"warnings": [warning]}}
    channel.members.add(ws.bot_user_id)
    return {"channel": channel.to_api(ws.bot_user_id), **out}


def _set_text(field: str) -> Handler:
    def handler(ws: Workspace, args: Args) -> dict[str, Any]:
        channel = _member_channel(ws, args)
        value = str_arg(args, field)
        if len(value) > TOPIC_MAX:
            raise SlackError("too_long")
        setattr(channel, field, value)
        return {"channel": channel.to_api(ws.bot_user_id)}

    return handler


def archive(ws: Workspace, args: Args) -> dict[str, Any]:
    channel = ws.visible_channel(str_arg(args, "channel"))
    if channel.is_archived:
        raise SlackError("already_archived")
    if channel.name == "general":
        raise SlackError("cant_archive_general")
    if ws.bot_user_id not in channel.members:
        raise SlackError("not_in_channel")
    channel.is_archived = True
    return {}


HANDLERS: dict[str, Handler] = {
    "conversations.create": create,
    "conversations.invite": invite,
    "conversations.join": join,
    "conversations.setTopic": _set_text("topic"),
    "conversations.setPurpose": _set_text("purpose"),
    "conversations.archive": archive,
}
