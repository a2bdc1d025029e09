"""chat.* methods: postMessage, postEphemeral, update, getPermalink."""

from __future__ import annotations

from typing import Any

from ..blocks import MAX_MESSAGE_BLOCKS, validate_blocks
from ..errors import Args, RateLimited, SlackError, invalid, json_arg, present, str_arg
from ..models import Message
from ..workspace import Handler, Workspace

MAX_TEXT = 40_000
MAX_ATTACHMENTS = 100


def _content(args: Args) -> dict[str, Any]:
    """The message fields given in `args`, checked against Slack's limits."""
    out: dict[str, Any] = {}
    if "text" in args:
        out["text"] = str_arg(args, "text")
        if len(out["text"]) > MAX_TEXT:
            raise SlackError("msg_too_long")
    if present(args, "blocks"):
        blocks = json_arg(args, "blocks", "invalid_blocks_format")
        if not isinstance(blocks, list):
            raise SlackError("invalid_blocks_format")
        problems = validate_blocks(blocks, MAX_MESSAGE_BLOCKS)
        if problems:
            raise invalid("invalid_blocks", problems)
        out["blocks"] = blocks
    if present(args, "attachments"):
        attachments = json_arg(args, "attachments", "invalid_attachments")
        if not isinstance(attachments, list):
            raise SlackError("invalid_attachments")
        if len(attachments) > MAX_ATTACHMENTS:
            raise SlackError("too_many_attachments")
        out["attachments"] = attachments
    if present(args, "metadata"):
        out["metadata"] = json_arg(args, "metadata", "invalid_metadata_format")
    return out


def post_message(ws: Workspace, args: Args) -> dict[str, Any]:
    conversation, messages = ws.writable_conversation(str_arg(args, "channel"), public_ok=True)
    content = _content(args)
    if ws.enforce_rate_limits:
        wait = ws.message_buckets.take(conversation)
        if wait:
            raise RateLimited(wait)
    message = Message(
        ts=ws.next_ts(),
        channel=conversation,
        user=ws.bot_user_id,
        bot_id=ws.bot_id,
        thread_ts=str_arg(args, "thread_ts") or None,
        **content,
    )
    messages.append(message)
    return {"channel": conversation, "ts": message.ts, "message": message.to_api()}


def post_ephemeral(ws: Workspace, args: Args) -> dict[str, Any]:
    conversation, _ = ws.writable_conversation(str_arg(args, "channel"), public_ok=True)
    user = str_arg(args, "user")
    if conversation in ws.channels:
        in_channel = user in ws.channels[conversation].members
    else:
        in_channel = ws.im_channels.get(conversation) == user
    if not in_channel:
        raise SlackError("user_not_in_channel")
    # Recorded with .user = the recipient: that is what tests ask about.
    message = Message(
        ts=ws.next_ts(),
        channel=conversation,
        user=user,
        bot_id=ws.bot_id,
        thread_ts=str_arg(args, "thread_ts") or None,
        **_content(args),
    )
    ws.ephemerals.append(message)
    return {"message_ts": message.ts}


def update(ws: Workspace, args: Args) -> dict[str, Any]:
    ref = str_arg(args, "channel")
    message = ws.find_message(ref, str_arg(args, "ts"))
    if message.user != ws.bot_user_id:
        raise SlackError("cant_update_message")
    for name, value in _content(args).items():
        setattr(message, name, value)
    message.edited_ts = ws.next_ts()
    return {
        "channel": message.channel,
        "ts": message.ts,
        "text": message.text,
        "message": message.to_api(),
    }


def get_permalink(ws: Workspace, args: Args) -> dict[str, Any]:
    message = ws.find_message(str_arg(args, "channel"), str_arg(args, "message_ts"))
    archive = f"https://{ws.team_domain}.slack.com/archives/{message.channel}"
    link = f"{archive}/p{message.ts.replace('.', '')}"
    if message.thread_ts and message.thread_ts != message.ts:
        link += f"?thread_ts={message.thread_ts}&cid={message.channel}"
    return {"channel": message.channel, "permalink": link}


HANDLERS: dict[str, Handler] = {
    "chat.postMessage": post_message,
    "chat.postEphemeral": post_ephemeral,
    "chat.update": update,
    "chat.getPermalink": get_permalink,
}
