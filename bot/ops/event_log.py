"""One log line per change to an incident, with its number, written when the change is
committed: every change (update, severity, acknowledgement, page, reminder,
resolution...) adds a timeline entry in its own transaction, and a channel is an
incident row's `channel_id` being set. So one listener on the ORM session sees them
all, after the commit and never for a change that was rolled back, and no use case
has to remember to log. (Declarations are logged by bot/incidents/declare.py.)

Only the kind, the actor and ids are logged, never the entry's text: that is what
people wrote in Slack.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from bot.store.tables import Incident, TimelineEntry

log = logging.getLogger("bot.events")

# Timeline kinds that are changes to the incident, and how the line says them.
LINES = {
    "update": "update posted",
    "status": "status changed",
    "severity": "severity changed",
    "ack": "acknowledged",
    "role": "role assigned",
    "note": "note added",
    "resolve": "resolved",
    "escalation": "paged",
    "nag": "update reminder sent",
    "publish": "published on the status page",
    "bot_removed": "bot removed from the channel",
    "follow_reminder": "follow-through reminder sent",
    "follow_done": "follow-through step done",
    "action_item": "action item added or done",
}
PENDING = "incident_bot_event_lines"


def _entry_line(entry: TimelineEntry) -> tuple[str, dict[str, Any]] | None:
    what = LINES.get(entry.kind)
    if what is None or entry.incident_id is None:
        return None
    number = f"INC-{entry.incident_id}"
    data = entry.data or {}
    extra: dict[str, Any] = {"incident": number, "event": entry.kind}
    if entry.author_id:
        extra["user"] = entry.author_id
    text = f"{number} {what}"
    if entry.kind == "escalation" and "level" in data:
        extra["level"] = data["level"]
        text += f": level {data['level']} ({data.get('reason', '?')})"
    if entry.author_id:
        text += f" by {entry.author_id}"
    return text, extra


def _channel_line(incident: Incident) -> tuple[str, dict[str, Any]] | None:
    added = inspect(incident).attrs.channel_id.history.added
    if not added or not added[0] or incident.id is None:
        return None
    number = f"INC-{incident.id}"
    extra = {"incident": number, "event": "channel", "channel": added[0]}
    return f"{number} channel #{incident.channel_name} ({added[0]}) created", extra


def _after_flush(session: Session, _context: Any) -> None:
    lines = session.info.setdefault(PENDING, [])
    for obj in session.new:
        if isinstance(obj, TimelineEntry):
            line = _entry_line(obj)
            if line:
                lines.append(line)
    for obj in session.dirty:
        if isinstance(obj, Incident):
            line = _channel_line(obj)
            if line:
                lines.append(line)


def _after_commit(session: Session) -> None:
    for text, extra in session.info.pop(PENDING, []):
        log.info(text, extra=extra)


def _after_rollback(session: Session) -> None:
    session.info.pop(PENDING, None)


def install() -> None:
    """Listen on every ORM session (idempotent)."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)
