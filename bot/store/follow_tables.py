"""After the incident: the follow-through steps owed (their reminders and who marked
them done) and the action items, with what their tracker said. Changing one means an
Alembic revision, as for bot/store/tables.py."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.store.types import UTCDateTime


def _dt() -> datetime | None:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))  # type: ignore[no-any-return]


class FollowUp(SQLModel, table=True):
    """A policy follow-through step of a resolved incident, once it has been reminded,
    snoozed or done (a step without a row is simply due at resolution + `within`)."""

    __tablename__ = "follow_up"
    __table_args__ = (UniqueConstraint("incident_id", "step", name="uq_follow_up_step"),)

    id: int = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    step: str
    reminders: int = 0
    last_reminded_at: datetime | None = _dt()
    snoozed_until: datetime | None = _dt()
    done_at: datetime | None = _dt()
    done_by: str | None = None


class TrackerState(StrEnum):
    """Where an action item's issue is: being filed (an outbox row), filed, or refused."""

    FILING = "filing"
    FILED = "filed"
    FAILED = "failed"


class ActionItem(SQLModel, table=True):
    """Something to do so that it does not happen again: who, by when, done or not, and
    its issue in the policy's tracker."""

    __tablename__ = "action_item"

    id: int = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    text: str
    owner_id: str | None = Field(default=None, index=True)
    due_at: datetime | None = _dt()
    created_by: str
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    reminded_at: datetime | None = _dt()
    done_at: datetime | None = _dt()
    done_by: str | None = None
    tracker: str | None = None  # the policy's tracker kind when it was added
    tracker_state: str | None = None  # a TrackerState
    tracker_url: str | None = None
    tracker_error: str | None = None

    @property
    def number(self) -> str:
        return f"AI-{self.id}"
