"""The use cases' refusals, typed. Each message says what was wrong and what would work;
the Slack side decides how to show it (an ephemeral message, a modal field error, a DM)
from where the request came from, and `field` names the modal input it belongs to.

A refusal is raised before anything changes: nothing is created, stored or sent."""

from __future__ import annotations


class IncidentError(Exception):
    """A user mistake or refusal; the message says what was wrong and what would work."""

    # The modal input the mistake is about (a name from slack/ids.py Field), if any.
    field: str | None = None

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        if field is not None:
            self.field = field


class NotAllowed(IncidentError):
    """The policy's permissions do not grant this to the user."""


class NotInIncidentChannel(IncidentError):
    """An in-incident command was used outside an incident channel."""


class IncidentClosed(IncidentError):
    """The incident is resolved: it takes no more changes."""


class UnknownSeverity(IncidentError):
    """The policy has no severity by that name or alias."""

    field = "severity"


class UnknownStatus(IncidentError):
    """The policy has no status by that name."""

    field = "status"


class UnknownRole(IncidentError):
    """The policy declares no such role."""


class UnknownLevel(IncidentError):
    """The escalation chain has no level by that name."""

    field = "level"


class FinalStatus(IncidentError):
    """The final status is reached by resolving (with a summary), not by setting it."""

    field = "status"


class MissingText(IncidentError):
    """A verb that needs text (a title, an update, a note, a summary) got none."""


class NotYet(IncidentError):
    """The policy asks to wait first (a monitoring period before resolving); the message
    says how to go ahead anyway."""


class NothingToDo(IncidentError):
    """The change asked for is the state already (same severity, same commander, no
    page waiting for an acknowledgement, every escalation level paged)."""
