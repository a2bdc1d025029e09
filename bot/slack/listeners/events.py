"""Events API: one `message` listener records every message of incident channels
(app.message() would skip edits and deletions, and only the first match runs)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.incidents.timeline import Deleted, Edited, Posted
from bot.ops import metrics
from bot.services import Services
from bot.slack.ids import Event, MessageSubtype

log = logging.getLogger(__name__)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _ts(value: Any) -> str | None:
    """A Slack ts ("1773480700.000100"), or None for anything that is not one."""
    text = _str(value)
    try:
        return text if text is not None and float(text) > 0 else None
    except ValueError:
        return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _links(event: dict[str, Any]) -> list[dict[str, str]]:
    links = []
    for f in _list(event.get("files")):
        f = _dict(f)
        links.append(
            {
                "name": str(f.get("name") or f.get("title") or "file"),
                "url": str(f.get("permalink") or f.get("url_private") or ""),
            }
        )
    for a in _list(event.get("attachments")):
        a = _dict(a)
        url = _str(a.get("title_link")) or _str(a.get("from_url")) or _str(a.get("original_url"))
        if url:
            links.append({"name": str(a.get("title") or a.get("fallback") or url), "url": url})
    return links


def to_timeline_event(event: dict[str, Any]) -> Posted | Edited | Deleted | None:
    """Slack's message event, in all its subtypes, as a timeline event (None for
    anything malformed: Slack's payloads are input like any other)."""
    channel = _str(event.get("channel"))
    if channel is None:
        return None
    subtype = event.get("subtype")
    if subtype == MessageSubtype.CHANGED:
        msg, previous = _dict(event.get("message")), _dict(event.get("previous_message"))
        ts = _ts(msg.get("ts"))
        if ts is None:
            return None
        if msg.get("text") == previous.get("text") and not msg.get("edited"):
            return None  # an unfurl or a reaction count changed, not the words
        edited = (
            _ts(_dict(msg.get("edited")).get("ts"))
            or _ts(event.get("event_ts"))
            or _ts(event.get("ts"))
        )
        if edited is None:
            return None
        author = _str(msg.get("user")) or _str(msg.get("bot_id"))
        return Edited(channel, ts, edited, author, str(msg.get("text") or ""))
    if subtype == MessageSubtype.DELETED:
        deleted = _ts(event.get("deleted_ts")) or _ts(
            _dict(event.get("previous_message")).get("ts")
        )
        when = _ts(event.get("event_ts")) or _ts(event.get("ts"))
        if deleted is None or when is None:
            return None
        return Deleted(channel, deleted, when)
    ts = _ts(event.get("ts"))
    if ts is None:
        return None
    thread = _ts(event.get("thread_ts"))
    return Posted(
        channel=channel,
        ts=ts,
        author=_str(event.get("user")) or _str(event.get("bot_id")),
        text=str(event.get("text") or ""),
        thread_ts=thread,
        bot=bool(event.get("bot_id")),
        files=_links(event),
    )


def register(app: AsyncApp, services: Services) -> None:
    async def on_left(event: dict[str, Any]) -> None:
        channel = _str(event.get("channel"))
        if channel:
            services.timeline.stop_recording(channel)
            await services.incidents.bot_removed(channel, _str(event.get("actor_id")))

    app.event(Event.CHANNEL_LEFT.value)(on_left)
    app.event(Event.GROUP_LEFT.value)(on_left)

    @app.event(Event.MESSAGE.value)
    async def on_message(event: dict[str, Any]) -> None:
        item = to_timeline_event(event)
        if item is not None and await services.timeline.record(item):
            metrics.EVENTS_RECORDED.labels(type(item).__name__.lower()).inc()
