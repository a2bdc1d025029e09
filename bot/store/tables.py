"""The tables. Changing one means adding an Alembic revision (tests/test_migrations.py checks).

Every `id` is typed `int`: the database sets it on insert, and every row the code
handles was read or written back, so it has one (the None default only serves the
INSERT)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.store.types import UTCDateTime


def _dt(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class JobState(StrEnum):
    """Where a due_job row is: waiting, being fired by one process, or finished."""

    PENDING = "pending"
    CLAIMED = "claimed"
    DONE = "done"
    CANCELLED = "cancelled"


class Incident(SQLModel, table=True):
    __tablename__ = "incident"

    id: int = Field(default=None, primary_key=True)
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
    # Clock state the planner reads (bot/planning/planner.py ClockState).
    severity_since: datetime | None = _dt()
    last_nag_at: datetime | None = _dt()
    nags_since_update: int = 0
    nag_escalations: int = 0
    snoozed_until: datetime | None = _dt()
    # When it entered the monitoring status (None when not monitoring): the policy's
    # monitor_for counts from here (issue 13).
    monitoring_since: datetime | None = _dt()
    # Set when the bot was removed from the channel: its timeline stops there.
    bot_removed_at: datetime | None = _dt()
    # False between the declaration's ack and its acceptance (timeline line, clocks,
    # set-up row): one left False was cut short by a crash (Incidents.accept_unaccepted).
    accepted: bool = Field(default=True, index=True, sa_column_kwargs={"server_default": sa.true()})
    # The id of the Slack modal that declared it (unique per opened modal): the same
    # modal submitted again (a double click) finds this incident instead of another.
    declaration_key: str | None = Field(default=None, unique=True, index=True)
    # The status-page clock (planner's publish reminder): first published, last reminded.
    first_published_at: datetime | None = _dt()
    last_publish_nag_at: datetime | None = _dt()
    # How many action items it has (bot/store/follow_tables.py): while 0, planning its
    # clocks reads no action item rows (most incidents, and every one while it is hot).
    action_items: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # A practice incident (`/incident drill`): its pages and DMs reach the declarer only
    # (bot/incidents/drills.py), and it is left out of metrics.
    drill: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})

    @property
    def number(self) -> str:
        return f"INC-{self.id}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class Participant(SQLModel, table=True):
    """Who holds which policy role in an incident (the commander is on Incident); a role
    may have several holders (SMEs), one row each."""

    __tablename__ = "participant"
    __table_args__ = (
        UniqueConstraint("incident_id", "role", "user_id", name="uq_participant_role_user"),
    )

    id: int = Field(default=None, primary_key=True)
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

    id: int = Field(default=None, primary_key=True)
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


class Page(SQLModel, table=True):
    """An escalation level paged for an incident: when, whom, and who acknowledged."""

    __tablename__ = "page"
    __table_args__ = (UniqueConstraint("incident_id", "level", name="uq_page_level"),)

    id: int = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    level: int
    reason: str
    first_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    acked_at: datetime | None = _dt()
    acked_by: str | None = None
    # Whom the page addressed, resolved when paged (bot/incidents/paging_targets.py):
    # an ack acknowledges the pages addressed to that person. None: paged before pages
    # kept their targets (anyone may acknowledge it, as then).
    targets: list[dict[str, Any]] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True)
    )


class DueJob(SQLModel, table=True):
    """A reminder or escalation step that is due at a time: the row is the truth.

    Written in the same transaction as the change that planned it; claimed with a
    conditional UPDATE before anything is sent, so each fires once across restarts
    and replicas. `key` + `due_at` identify the planned step (unique per incident).
    """

    __tablename__ = "due_job"
    __table_args__ = (UniqueConstraint("incident_id", "key", "due_at", name="uq_due_job_step"),)

    id: int = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    key: str
    kind: str
    level: int | None = None
    reason: str
    due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    state: str = Field(default=JobState.PENDING.value, index=True)  # a JobState
    token: str
    attempts: int = 0
    claimed_by: str | None = None
    claimed_at: datetime | None = _dt()
    finished_at: datetime | None = _dt()
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class PolicyVersion(SQLModel, table=True):
    """Every policy an incident started with, by hash: an incident keeps its chain and
    cadences when the file changes, and any replica can rebuild it."""

    __tablename__ = "policy_version"

    version: str = Field(primary_key=True)
    path: str
    source: str
    loaded_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Publication(SQLModel, table=True):
    """A customer-facing update a commander chose to publish on the status page."""

    __tablename__ = "publication"

    id: int = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    status: str
    public_title: str
    text: str
    published_by: str
    published_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    # The policy's components this update marks as affected; None (published before
    # components were picked): every component.
    components: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class OutboxRow(SQLModel, table=True):
    """One chat side effect of a change (a post, an edit, an invite, a topic, a pin),
    written in the change's own transaction and delivered by a worker that claims it.

    Rows of one conversation are delivered one at a time in id order; `key` is unique,
    so a step that enqueues again after a crash adds nothing, and a post carries it as
    message metadata, so a delivery cut short is looked for before it is sent again.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        sa.Index("ix_outbox_conversation_id", "conversation", "id"),
        sa.Index("ix_outbox_state_priority", "state", "priority", "id"),
    )

    id: int = Field(default=None, primary_key=True)
    incident_id: int | None = Field(default=None, foreign_key="incident.id", index=True)
    conversation: str
    op: str
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    key: str = Field(unique=True)
    # Pending edits of one message with the same `coalesce` are one edit: the last state.
    coalesce: str | None = Field(default=None, index=True)
    priority: int = 100  # lower first: the most severe incident's rows go first
    state: str = "pending"  # pending|claimed|done|failed
    # None: as soon as it may. Set (on the deliverer's clock) when a retry must wait.
    due_at: datetime | None = _dt()
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    attempts: int = 0
    claimed_by: str | None = None
    claimed_at: datetime | None = _dt()
    # When it was first tried: a post tried again looks for itself in Slack since then.
    first_claimed_at: datetime | None = _dt()
    finished_at: datetime | None = _dt()
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    error: str | None = None


class ConversationPace(SQLModel, table=True):
    """Slack's pace per channel (about one message a second, short bursts allowed), kept
    in the database so that every worker process keeps to the same budget."""

    __tablename__ = "conversation_pace"

    conversation: str = Field(primary_key=True)
    tokens: float
    stamp: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # No post before this instant: set when the bucket ran dry.
    next_at: datetime | None = _dt()


class OncallOverride(SQLModel, table=True):
    """Someone on call instead of the rotation for a while, set by `/incident oncall
    override` (the policy's own overrides stay in the policy); kept, with who set it."""

    __tablename__ = "oncall_override"

    id: int = Field(default=None, primary_key=True)
    schedule: str = Field(index=True)
    layer: str
    user_id: str
    start_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    end_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    created_by: str
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


# After the incident (follow-through steps, action items): a module of its own.
import bot.store.follow_tables  # noqa: E402, F401
