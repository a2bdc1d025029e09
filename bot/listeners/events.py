"""Events API: one `message` listener records every message of incident channels
(app.message() would skip edits and deletions, and only the first match runs)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.services import Services
from bot.timeline import Deleted, Edited, Posted

log = logging.getLogger(__name__)


def to_timeline_event(event: dict[str, Any]) -> Posted | Edited | Deleted | None:
    """Slack's message event, in all its subtypes, as a timeline event."""
    channel = event.get("channel")
    if not channel:
        return None
    subtype = event.get("subtype")
    if subtype == "message_changed":
        msg = event.get("message") or {}
        if not msg.get("ts"):
            return None
        previous = event.get("previous_message") or {}
        if msg.get("text") == previous.get("text") and not msg.get("edited"):
            return None  # an unfurl or a reaction count changed, not the words
        edited = (msg.get("edited") or {}).get("ts") or event.get("event_ts") or event.get("ts")
        return Edited(
            channel,
            msg["ts"],
            str(edited),
            msg.get("user") or msg.get("bot_id"),
            msg.get("text") or "",
        )
    if subtype == "message_deleted":
        deleted = event.get("deleted_ts") or (event.get("previous_message") or {}).get("ts")
        if not deleted:
            return None
        return Deleted(channel, str(deleted), str(event.get("event_ts") or event.get("ts")))
    if not event.get("ts"):
        return None
    files = [
        {
            "name": str(f.get("name") or f.get("title") or "file"),
            "url": str(f.get("permalink") or f.get("url_private") or ""),
        }
        for f in event.get("files") or []
    ]
    for a in event.get("attachments") or []:
        url = a.get("title_link") or a.get("from_url") or a.get("original_url")
        if url:
            files.append({"name": str(a.get("title") or a.get("fallback") or url), "url": url})
    return Posted(
        channel=channel,
        ts=event["ts"],
        author=event.get("user") or event.get("bot_id"),
        text=event.get("text") or "",
        thread_ts=event.get("thread_ts"),
        bot=bool(event.get("bot_id")),
        files=files,
    )


def register(app: AsyncApp, services: Services) -> None:
    async def on_left(event: dict[str, Any]) -> None:
        channel = event.get("channel")
        if channel:
            services.timeline.stop_recording(channel)
            await services.incidents.bot_removed(channel, event.get("actor_id"))

    # Sent to the bot when it is removed from a public / private channel.
    app.event("channel_left")(on_left)
    app.event("group_left")(on_left)

    @app.event("message")
    async def on_message(event: dict[str, Any]) -> None:
        item = to_timeline_event(event)
        if item is not None:
            await services.timeline.record(item)
