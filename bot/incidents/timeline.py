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
from enum import StrEnum
from typing import Any

from bot.store.batch import BatchWriter
from bot.store.repo import Store
from bot.store.tables import TimelineEntry

log = logging.getLogger(__name__)


class TimelineKind(StrEnum):
    """What a timeline line records; stored as its value (timeline_entry.kind)."""

    # The bot's own typed entries: what someone did through it, or what it did.
    DECLARED = "declared"
    UPDATE = "update"
    STATUS = "status"
    SEVERITY = "severity"
    COMMANDER = "commander"
    ROLE = "role"
    NOTE = "note"
    KEY = "key"  # a message a scribe marked
    ACK = "ack"
    SNOOZE = "snooze"
    ESCALATION = "escalation"
    NAG = "nag"
    RESOLVE = "resolve"
    PUBLISH = "publish"
    BOT_REMOVED = "bot_removed"
    # After the incident: a follow-through step reminded (routine) or done; action items.
    FOLLOW_REMINDER = "follow_reminder"
    FOLLOW_DONE = "follow_done"
    ACTION_ITEM = "action_item"
    ARCHIVED = "archived"
    # What people wrote in the channel.
    MESSAGE = "message"
    EDIT = "edit"
    DELETION = "deletion"

    @property
    def label(self) -> str:
        """How a reader calls it, in the timeline, the postmortem and the export."""
        return _LABELS[self]

    @property
    def is_key(self) -> bool:
        """A key event: the readable timeline and the postmortem show it. Reminders and
        snoozes are routine; the channel's messages are key only once a scribe marks one."""
        return self not in _ROUTINE


_LABELS = {
    TimelineKind.DECLARED: "Declared",
    TimelineKind.UPDATE: "Update",
    TimelineKind.STATUS: "Status",
    TimelineKind.SEVERITY: "Severity",
    TimelineKind.COMMANDER: "Commander",
    TimelineKind.ROLE: "Role",
    TimelineKind.NOTE: "Note",
    TimelineKind.KEY: "Key event",
    TimelineKind.ACK: "Acknowledged",
    TimelineKind.SNOOZE: "Snoozed",
    TimelineKind.ESCALATION: "Escalation",
    TimelineKind.NAG: "Reminder",
    TimelineKind.RESOLVE: "Resolved",
    TimelineKind.PUBLISH: "Published",
    TimelineKind.BOT_REMOVED: "Bot removed",
    TimelineKind.FOLLOW_REMINDER: "Follow-through reminder",
    TimelineKind.FOLLOW_DONE: "Follow-through done",
    TimelineKind.ACTION_ITEM: "Action item",
    TimelineKind.ARCHIVED: "Channel archived",
    TimelineKind.MESSAGE: "Message",
    TimelineKind.EDIT: "Edited",
    TimelineKind.DELETION: "Deleted",
}
_ROUTINE = {
    TimelineKind.NAG,
    TimelineKind.SNOOZE,
    TimelineKind.FOLLOW_REMINDER,
    TimelineKind.MESSAGE,
    TimelineKind.EDIT,
    TimelineKind.DELETION,
}


def kind_of(entry: TimelineEntry) -> TimelineKind:
    """A stored entry's kind; one this version does not know reads as a message."""
    try:
        return TimelineKind(entry.kind)
    except ValueError:
        return TimelineKind.MESSAGE


def is_key(entry: TimelineEntry) -> bool:
    return entry.key_event or kind_of(entry).is_key


def new_entry(
    incident_id: int,
    kind: TimelineKind,
    at: datetime,
    text: str = "",
    *,
    author: str | None = None,
    data: dict[str, Any] | None = None,
    channel: str | None = None,
    ts: str | None = None,
    source_key: str | None = None,
) -> TimelineEntry:
    """The one way a timeline line is made; the caller adds it to its transaction (a
    change and its line commit together) or to the batch writer (channel messages)."""
    return TimelineEntry(
        incident_id=incident_id,
        kind=kind.value,
        occurred_at=at,
        author_id=author,
        text=text,
        channel_id=channel,
        ts=ts,
        key_event=kind.is_key,
        source_key=source_key,
        data=data,
    )


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
            entry = new_entry(
                incident_id,
                TimelineKind.MESSAGE,
                ts_time(event.ts),
                event.text,
                author=event.author,
                channel=event.channel,
                ts=event.ts,
                source_key=f"msg:{event.channel}:{event.ts}",
                data=data,
            )
        elif isinstance(event, Edited):
            entry = new_entry(
                incident_id,
                TimelineKind.EDIT,
                ts_time(event.edited_ts),
                event.text,
                author=event.author,
                channel=event.channel,
                ts=event.ts,
                source_key=f"edit:{event.channel}:{event.ts}:{event.edited_ts}",
                data={"edited_ts": event.edited_ts},
            )
        else:
            entry = new_entry(
                incident_id,
                TimelineKind.DELETION,
                ts_time(event.deleted_ts),
                channel=event.channel,
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
        entry = new_entry(
            incident_id,
            TimelineKind.KEY,
            ts_time(ts),
            text,
            author=by,
            channel=channel,
            ts=ts,
            source_key=f"key:{incident_id}:{channel}:{ts}",
            data={"permalink": permalink} if permalink else None,
        )
        return await self._add(entry)

    async def entries(self, incident_id: int) -> list[TimelineEntry]:
        """The timeline as readers want it: by when things happened; edits folded into
        their message (text is the latest, `data.history` the earlier versions) and
        deleted messages marked."""
        rows = await self.store.timeline(incident_id)
        by_ts: dict[tuple[str | None, str | None], TimelineEntry] = {}
        out: list[TimelineEntry] = []
        for e in rows:  # by (occurred_at, id)
            if e.kind == TimelineKind.MESSAGE:
                e = e.model_copy(deep=True)
                by_ts[(e.channel_id, e.ts)] = e
                out.append(e)
            elif (
                e.kind in (TimelineKind.EDIT, TimelineKind.DELETION)
                and (e.channel_id, e.ts) in by_ts
            ):
                original = by_ts[(e.channel_id, e.ts)]
                data = dict(original.data or {})
                if e.kind == TimelineKind.EDIT:
                    data["history"] = [*data.get("history", []), original.text]
                    original.text = e.text
                else:
                    data["deleted"] = True
                original.data = data
            else:
                out.append(e)
        return out
