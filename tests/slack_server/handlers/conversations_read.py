"""conversations.* methods that read: info, list, members; and open (the bot's DMs)."""

from __future__ import annotations

import base64
from typing import Any

from ..errors import Args, SlackError, bool_arg, int_arg, list_arg, str_arg
from ..workspace import Handler, Workspace

CHANNEL_TYPES = {"public_channel", "private_channel", "mpim", "im"}


def _encode_cursor(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def _decode_cursor(cursor: str) -> int:
    try:
        prefix, _, offset = base64.b64decode(cursor, validate=True).decode().partition(":")
        if prefix == "offset" and int(offset) >= 0:
            return int(offset)
    except ValueError:
        pass
    raise SlackError("invalid_cursor")


def _page(items: list[Any], args: Args) -> tuple[list[Any], dict[str, Any]]:
    """Slack's cursor pagination: a page plus response_metadata.next_cursor ("" at the end)."""
    limit = int_arg(args, "limit", 100, error="invalid_limit")
    if not 1 <= limit <= 1000:
        raise SlackError("invalid_limit")
    cursor = str_arg(args, "cursor")
    offset = _decode_cursor(cursor) if cursor else 0
    end = offset + limit
    next_cursor = _encode_cursor(end) if end < len(items) else ""
    return items[offset:end], {"next_cursor": next_cursor}


def info(ws: Workspace, args: Args) -> dict[str, Any]:
    ref = str_arg(args, "channel")
    if ref in ws.im_channels:
        return {"channel": _im(ws, ref)}
    return {"channel": ws.visible_channel(ref).to_api(ws.bot_user_id)}


def _im(ws: Workspace, im_id: str) -> dict[str, Any]:
    return {"id": im_id, "is_im": True, "user": ws.im_channels[im_id], "is_open": True}


def list_(ws: Workspace, args: Args) -> dict[str, Any]:
    types = set(list_arg(args, "types")) or {"public_channel"}
    if not types <= CHANNEL_TYPES:
        raise SlackError("invalid_types")
    exclude_archived = bool_arg(args, "exclude_archived")
    found: list[dict[str, Any]] = []
    for channel in ws.channels.values():
        if exclude_archived and channel.is_archived:
            continue
        if channel.is_private:
            # Only private channels the bot is in are visible to it.
            wanted = "private_channel" in types and ws.bot_user_id in channel.members
        else:
            wanted = "public_channel" in types
        if wanted:
            found.append(channel.to_api(ws.bot_user_id))
    if "im" in types:
        found.extend(_im(ws, im_id) for im_id in ws.im_channels)
    page, metadata = _page(found, args)
    return {"channels": page, "response_metadata": metadata}


def members(ws: Workspace, args: Args) -> dict[str, Any]:
    channel = ws.visible_channel(str_arg(args, "channel"))
    page, metadata = _page(sorted(channel.members), args)
    return {"members": page, "response_metadata": metadata}


def open_(ws: Workspace, args: Args) -> dict[str, Any]:
    existing = str_arg(args, "channel")
    if existing:
        if existing not in ws.im_channels:
            raise SlackError("channel_not_found")
        im_id = existing
        already_open = True
    else:
        users = list_arg(args, "users")
        if len(users) > 1:
            # Group DMs (mpim) are not modelled by the fake.
            raise SlackError("fake_slack_unsupported", detail="conversations.open with 2+ users")
        ws.user(users[0])
        already_open = users[0] in ws.dms
        im_id = ws.open_im(users[0])
    channel = _im(ws, im_id) if bool_arg(args, "return_im") else {"id": im_id}
    out: dict[str, Any] = {"channel": channel}
    if already_open:
        out.update(no_op=True, already_open=True)
    return out


def history(ws: Workspace, args: Args) -> dict[str, Any]:
    """Newest first, like Slack; metadata only with include_all_metadata; the scope
    must match the conversation's type (a DM needs im:history)."""
    ref = str_arg(args, "channel")
    if ref in ws.im_channels:
        needed = "im:history"
        messages = ws.dms[ws.im_channels[ref]]
    else:
        channel = ws.visible_channel(ref)
        needed = "groups:history" if channel.is_private else "channels:history"
        if ws.bot_user_id not in channel.members:
            raise SlackError("not_in_channel")
        messages = channel.messages
    if needed not in ws.scopes:
        raise SlackError("missing_scope", needed=needed, provided=",".join(ws.scopes))
    with_metadata = bool_arg(args, "include_all_metadata")
    found = []
    for m in reversed(messages):
        item = m.to_api()
        if not with_metadata:
            item.pop("metadata", None)
        found.append(item)
    page, metadata = _page(found, args)
    return {
        "messages": page,
        "has_more": bool(metadata["next_cursor"]),
        "response_metadata": metadata,
    }


HANDLERS: dict[str, Handler] = {
    "conversations.info": info,
    "conversations.history": history,
    "conversations.list": list_,
    "conversations.members": members,
    "conversations.open": open_,
}
