"""Drills: a practice incident runs the policy as it is, but reaches nobody but its
declarer.

The one seam is the outbox (bot/incidents/outbox.py calls `rewrite`): every side effect
of every change is a row written there, so a drill's row is rewritten as it is written,
whatever its kind, including kinds added later (a paging service, a tracker). What
stays in the drill's own channel or goes to its declarer is kept; an invitation keeps
the declarer only; anything else becomes a DM to the declarer saying what would have
been sent, and to whom. Nothing is announced, paged or published for a drill.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from bot.store.tables import Incident, OutboxRow

# A drill's channel name starts so (bot/incidents/setup.py).
CHANNEL_PREFIX = "drill-"
# The ops this module looks into (the values of outbox.Op, which imports this module).
POST, EDIT, INVITE = "post", "edit", "invite"
NOTE = ":test_tube: *Drill*"


class Refs(Protocol):
    """How to name a person or a channel in a message (the Chat port does it)."""

    def user_ref(self, user_id: str) -> str: ...

    def channel_ref(self, channel: str) -> str: ...


class PlainRefs:
    """Ids as they are: the note still says who, if less prettily."""

    def user_ref(self, user_id: str) -> str:
        return user_id

    def channel_ref(self, channel: str) -> str:
        return channel


def is_person(conversation: str) -> bool:
    return conversation[:1] in {"U", "W"}


def ref(refs: Refs, target: str) -> str:
    return refs.user_ref(target) if is_person(target) else refs.channel_ref(target)


def rewrite(incident: Incident, row: OutboxRow, refs: Refs) -> list[OutboxRow]:
    """What a drill sends instead of `row` (not yet written): the row itself when it stays
    inside the drill, else a note to the declarer; nothing for an edit of a message
    that was itself redirected."""
    payload = row.payload
    target = str(payload.get("to") or row.conversation)
    declarer = incident.declared_by
    if row.op == INVITE:
        users = [str(u) for u in payload.get("users") or ()]
        others = [u for u in users if u != declarer]
        kept: list[OutboxRow] = []
        if declarer in users and target == incident.channel_id:
            kept.append(_copy(row, payload={**payload, "users": [declarer]}))
        if others or target != incident.channel_id:
            where = ", ".join(refs.user_ref(u) for u in others)
            kept.append(
                _note(
                    incident,
                    row,
                    f"{NOTE}: this would have invited {where or '-'} to {ref(refs, target)}.",
                    key=f"{row.key}:drill",
                )
            )
        return kept
    if target in {incident.channel_id, declarer}:
        return [row]
    if row.op == EDIT:
        return []  # the message it edits went to the declarer, as a note
    message = payload.get("message") if row.op == POST and not payload.get("render") else None
    if isinstance(message, dict):
        said = message.get("text") or ""
        text = f"{NOTE}: this would have gone to {ref(refs, target)}:\n\n{said}"
        note = _note(incident, row, text, key=row.key, controls=message.get("controls"))
        if payload.get("only_while"):  # a reminder resolved meanwhile is noise here too
            note.payload["only_while"] = payload["only_while"]
        return [note]
    return [
        _note(
            incident,
            row,
            f"{NOTE}: this would have sent `{row.op}` to {ref(refs, target)}.",
            key=row.key,
        )
    ]


def _copy(row: OutboxRow, *, payload: dict[str, Any]) -> OutboxRow:
    return OutboxRow(**{**row.model_dump(exclude={"id"}), "payload": payload})


def _note(
    incident: Incident,
    row: OutboxRow,
    text: str,
    *,
    key: str,
    controls: Sequence[str] | None = None,
) -> OutboxRow:
    message = {
        "text": text,
        "title": None,
        "incident_id": incident.id,
        "controls": list(controls or ()),
        "context": None,
    }
    return OutboxRow(
        incident_id=incident.id,
        conversation=incident.declared_by,
        op=POST,
        payload={"message": message},
        key=key,
        coalesce=None,
        priority=row.priority,
        created_at=row.created_at,
    )
