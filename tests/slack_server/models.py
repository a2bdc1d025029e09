"""Plain records of the fake workspace's state, easy to assert on in tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Call:
    """One Web API request as the fake received it (token left out of args)."""

    method: str
    args: dict[str, Any]
    ok: bool = False
    error: str | None = None
    status: int = 200
    response: dict[str, Any] | None = None


@dataclass
class User:
    id: str
    name: str
    team_id: str
    is_bot: bool = False
    deleted: bool = False

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "team_id": self.team_id,
            "name": self.name,
            "real_name": self.name,
            "deleted": self.deleted,
            "is_bot": self.is_bot,
            "is_admin": False,
            "tz": "Europe/London",
            "profile": {"display_name": self.name, "real_name": self.name},
        }


@dataclass
class Message:
    ts: str
    channel: str
    user: str
    text: str = ""
    blocks: list[dict[str, Any]] | None = None
    attachments: list[dict[str, Any]] | None = None
    thread_ts: str | None = None
    files: list[dict[str, Any]] | None = None
    metadata: dict[str, Any] | None = None
    reactions: dict[str, list[str]] = field(default_factory=dict)  # name -> users
    edited_ts: str | None = None
    bot_id: str | None = None

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "message",
            "user": self.user,
            "text": self.text,
            "ts": self.ts,
        }
        optional = {
            "bot_id": self.bot_id,
            "blocks": self.blocks,
            "attachments": self.attachments,
            "thread_ts": self.thread_ts,
            "files": self.files,
            "metadata": self.metadata,
        }
        out.update({k: v for k, v in optional.items() if v is not None})
        if self.edited_ts:
            out["edited"] = {"user": self.user, "ts": self.edited_ts}
        if self.reactions:
            out["reactions"] = [
                {"name": n, "users": list(u), "count": len(u)} for n, u in self.reactions.items()
            ]
        return out


@dataclass
class Channel:
    id: str
    name: str
    is_private: bool = False
    is_archived: bool = False
    members: set[str] = field(default_factory=set)
    topic: str = ""
    purpose: str = ""
    creator: str = ""
    created: int = 0
    pins: list[str] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)

    def to_api(self, viewer: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": not self.is_private,
            "is_group": False,
            "is_im": False,
            "is_mpim": False,
            "is_private": self.is_private,
            "is_archived": self.is_archived,
            "is_general": self.name == "general",
            "is_member": viewer in self.members,
            "created": self.created,
            "creator": self.creator,
            "num_members": len(self.members),
            "topic": {"value": self.topic, "creator": self.creator, "last_set": 0},
            "purpose": {"value": self.purpose, "creator": self.creator, "last_set": 0},
        }


@dataclass
class Usergroup:
    id: str
    handle: str
    users: list[str]


@dataclass
class View:
    """One views.open/push/update/publish; an update repeats the id it replaced."""

    id: str
    type: str
    view: dict[str, Any]
    user: str | None
    trigger_id: str | None
    method: str
    external_id: str | None = None
    hash: str = ""

    def to_api(self, team_id: str, app_id: str, bot_id: str) -> dict[str, Any]:
        out = dict(self.view)
        out.update(
            id=self.id,
            team_id=team_id,
            app_id=app_id,
            bot_id=bot_id,
            hash=self.hash,
            root_view_id=self.id,
            previous_view_id=None,
            state={"values": {}},
            private_metadata=self.view.get("private_metadata", ""),
            callback_id=self.view.get("callback_id", ""),
            external_id=self.external_id or "",
        )
        return out


@dataclass
class Trigger:
    issued_at: float
    user: str | None
    used: bool = False


@dataclass
class UploadedFile:
    id: str
    filename: str
    length: int
    content: bytes | None = None  # None until the bytes are POSTed to the upload URL
    title: str | None = None
    channels: list[str] = field(default_factory=list)

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.filename,
            "title": self.title or self.filename,
            "size": len(self.content or b""),
            "channels": list(self.channels),
        }
