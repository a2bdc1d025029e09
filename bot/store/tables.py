"""The tables. Changing one means adding an Alembic revision (tests/test_migrations.py checks)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.store.types import UTCDateTime


def _dt(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class Incident(SQLModel, table=True):
    __tablename__ = "incident"

    id: int | None = Field(default=None, primary_key=True)
    title: str
    severity: str
    status: str
    private: bool = False
    channel_id: str | None = Field(default=None, unique=True)
    channel_name: str | None = None
    announcement_ts: str | None = None
    commander_id: str
    declared_by: str
    policy_version: str
    declared_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    last_update_at: datetime | None = _dt()
    acknowledged_at: datetime | None = _dt()
    resolved_at: datetime | None = _dt(index=True)
    summary: str | None = None

    @property
    def number(self) -> str:
        return f"INC-{self.id}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class Participant(SQLModel, table=True):
    """Who holds which policy role in an incident (the commander is on Incident)."""

    __tablename__ = "participant"
    __table_args__ = (UniqueConstraint("incident_id", "role", name="uq_participant_role"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    role: str
    user_id: str
    assigned_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class TimelineEntry(SQLModel, table=True):
    """One line of an incident's timeline: a message, a change, a nag, an escalation...

    `source_key` is unique: a Slack message is keyed by channel and ts, an event by its
    event_id, so Slack's retries and re-deliveries never add a second line.
    """

    __tablename__ = "timeline_entry"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    kind: str
    occurred_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    author_id: str | None = None
    text: str = ""
    channel_id: str | None = None
    ts: str | None = None
    key_event: bool = False
    source_key: str | None = Field(default=None, unique=True)
    data: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
