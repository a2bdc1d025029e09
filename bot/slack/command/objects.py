"""What the parser returns: one object per command, and its one refusal, UsageError."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from bot.incidents.errors import IncidentError


class UsageError(IncidentError):
    """A mistake in the command text; ``message`` is mrkdwn ready to show the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class OpenDeclareModal:
    pass


@dataclass(frozen=True)
class Declare:
    severity: str
    title: str
    drill: bool = False  # `/incident drill ...`: a practice incident (bot/incidents/drills.py)


@dataclass(frozen=True)
class ListIncidents:
    pass


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class Update:
    text: str
    status: str | None = None
    # `update --publish`: open the update form with the status-page text drafted.
    publish: bool = False


@dataclass(frozen=True)
class SetStatus:
    status: str


@dataclass(frozen=True)
class SetSeverity:
    severity: str


@dataclass(frozen=True)
class Ack:
    pass


@dataclass(frozen=True)
class Commander:
    user_id: str


@dataclass(frozen=True)
class Role:
    role: str
    user_id: str
    # More holders of the same role (`/incident role sme @a @b`).
    also: tuple[str, ...] = ()


@dataclass(frozen=True)
class Note:
    text: str


@dataclass(frozen=True)
class Escalate:
    reason: str | None = None
    level: str | None = None  # by name; None: the next level not paged yet


@dataclass(frozen=True)
class Resolve:
    summary: str


@dataclass(frozen=True)
class Timeline:
    pass


@dataclass(frozen=True)
class Postmortem:
    pass


@dataclass(frozen=True)
class AddAction:
    text: str
    owner: str | None = None
    due: str | None = None  # as typed: the use case reads it on the incident's clock


@dataclass(frozen=True)
class Actions:
    done: int | None = None  # `actions done AI-3`: that item's id


@dataclass(frozen=True)
class OnCall:
    """`/incident oncall [<schedule>]`: who is on call now and next."""

    schedule: str | None = None


@dataclass(frozen=True)
class OnCallOverride:
    """`/incident oncall override @person <from> <until> [<schedule>[/<layer>]]`; the
    times stay text here: they are read in the schedule's time zone by the use case."""

    user_id: str
    start: str
    end: str
    schedule: str | None = None
    layer: str | None = None


Command: TypeAlias = (
    OpenDeclareModal
    | Declare
    | ListIncidents
    | Help
    | Update
    | SetStatus
    | SetSeverity
    | Ack
    | Commander
    | Role
    | Note
    | Escalate
    | Resolve
    | Timeline
    | Postmortem
    | AddAction
    | Actions
    | OnCall
    | OnCallOverride
)
