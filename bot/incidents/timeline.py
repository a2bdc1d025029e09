"""Recording the timeline: every message in an incident channel, once, in order.

The Slack side turns events into `Posted`, `Edited` and `Deleted`; this module never
sees Slack's payloads. Each entry has a unique `source_key` built from the channel
and the message ts (plus the edit's ts), so Slack's retries and re-deliveries are
no-ops. Edits add an entry and keep the original; deletions mark, never erase.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlmodel import select

from bot.store.batch import BatchWriter
from bot.store.repo import Store
from bot.store.tables import TimelineEntry

log = logging.getLogger(__name__)


def ts_time(ts: str) -> datetime:
    """Slack's message ts is the posting time in epoch seconds."""
    return datetime.fromtimestamp(float(ts), UTC)


@dataclass(frozen=True)
class Posted:
    channel: str
    ts: str
    author: str | None
    text: str
    thread_ts: str | None = None
    bot: bool = False
    files: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Edited:
    channel: str
    ts: str  # the message's own ts
    edited_ts: str  # when it was edited
    author: str | None
    text: str


@dataclass(frozen=True)
class Deleted:
    channel: str
    ts: str
    deleted_ts: str


class Timeline:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.writer = BatchWriter(store)
        self._channels: dict[str, int | None] = {}
        self._stopped: set[str] = set()  # the bot was removed: never re-cached

    async def incident_for(self, channel: str) -> int | None:
        """Incident id of a channel; cached, since every message asks."""
        if channel in self._stopped:
            return None
        if channel in self._channels and self._channels[channel] is not None:
            return self._channels[channel]
        inc = await self.store.by_channel(channel)
        recording = inc is not None and inc.is_open and inc.bot_removed_at is None
        found = inc.id if inc is not None and recording else None
        if found is not None:
            self._channels[channel] = found
        return found

    def stop_recording(self, channel: str) -> None:
        self._stopped.add(channel)
        self._channels.pop(channel, None)

    async def record(self, event: Posted | Edited | Deleted) -> bool:
        """Record one event; False when it is not in an incident channel or was seen."""
        incident_id = await self.incident_for(event.channel)
        if incident_id is None:
            return False
        if isinstance(event, Posted):
            data: dict[str, Any] = {"bot": event.bot}
            if event.thread_ts and event.thread_ts != event.ts:
                data["thread_ts"] = event.thread_ts
            if event.files:
                data["files"] = event.files
            entry = TimelineEntry(
                incident_id=incident_id,
                kind="message",
                occurred_at=ts_time(event.ts),
                author_id=event.author,
                text=event.text,
                channel_id=event.channel,
                ts=event.ts,
                source_key=f"msg:{event.channel}:{event.ts}",
                data=data,
            )
        elif isinstance(event, Edited):
            entry = TimelineEntry(
                incident_id=incident_id,
                kind="edit",
                occurred_at=ts_time(event.edited_ts),
                author_id=event.author,
                text=event.text,
                channel_id=event.channel,
                ts=event.ts,
                source_key=f"edit:{event.channel}:{event.ts}:{event.edited_ts}",
                data={"edited_ts": event.edited_ts},
            )
        else:
            entry = TimelineEntry(
                incident_id=incident_id,
                kind="deletion",
                occurred_at=ts_time(event.deleted_ts),
                channel_id=event.channel,
                ts=event.ts,
                source_key=f"del:{event.channel}:{event.ts}",
                data={"deleted_ts": event.deleted_ts},
            )
        return await self._add(entry)

    async def _add(self, entry: TimelineEntry) -> bool:
        return await self.writer.add(entry)

    async def mark_key(
        self,
        incident_id: int,
        *,
        channel: str,
        ts: str,
        text: str,
        by: str,
        permalink: str | None,
    ) -> bool:
        """A scribe marks a message as a key event. It sits in the timeline at the
        message's own time, not when it was marked; marking it twice adds nothing."""
        entry = TimelineEntry(
            incident_id=incident_id,
            kind="key",
            occurred_at=ts_time(ts),
            author_id=by,
            text=text,
            channel_id=channel,
            ts=ts,
            key_event=True,
            source_key=f"key:{incident_id}:{channel}:{ts}",
            data={"permalink": permalink} if permalink else None,
        )
        return await self._add(entry)

    async def entries(self, incident_id: int) -> list[TimelineEntry]:
        """The timeline as readers want it: by when things happened; edits folded into
        their message (text is the latest, `data.history` the earlier versions) and
        deleted messages marked."""
        async with self.store.session() as s:
            rows = (
                await s.exec(select(TimelineEntry).where(TimelineEntry.incident_id == incident_id))
            ).all()
        by_ts: dict[tuple[str | None, str | None], TimelineEntry] = {}
        out: list[TimelineEntry] = []
        for e in sorted(rows, key=lambda e: (e.occurred_at, e.id or 0)):
            if e.kind == "message":
                e = e.model_copy(deep=True)
                by_ts[(e.channel_id, e.ts)] = e
                out.append(e)
            elif e.kind in ("edit", "deletion") and (e.channel_id, e.ts) in by_ts:
                original = by_ts[(e.channel_id, e.ts)]
                data = dict(original.data or {})
                if e.kind == "edit":
                    data["history"] = [*data.get("history", []), original.text]
                    original.text = e.text
                else:
                    data["deleted"] = True
                original.data = data
            else:
                out.append(e)
        return out
