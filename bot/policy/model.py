"""The policy model: an organisation's incident runbook, as the bot understands it.

Every model is frozen and forbids unknown keys. Durations are written ``30s``, ``15m``,
``2h``, ``1d`` and become ``timedelta``; they serialise back to the same text, so
``Policy.model_validate(policy.model_dump(mode="json"))`` gives an equal policy.
Checks that span sections (a severity, contact or role named somewhere else) run in
:meth:`Policy._cross_check`, so a policy built in code is checked like a loaded one.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from .business_hours import BusinessHours
from .durations import BusinessDelta
from .errors import FieldPath
from .fields import (
    Found,
    Key,
    PolicyModel,
    RoleName,
    Text,
    fail,
    normalize,
    problem,
)
from .follow_through import FollowThrough
from .permissions import Action, Permissions
from .schedules import Schedule
from .sections import (
    Channel,
    Contact,
    Escalation,
    Level,
    Severity,
    Statuses,
    StatusPage,
    Templates,
    When,
)

__all__ = [
    "Channel",
    "Contact",
    "Escalation",
    "Level",
    "Policy",
    "Schedule",
    "Severity",
    "StatusPage",
    "Statuses",
    "Templates",
    "When",
]


# --- the policy ---------------------------------------------------------------------


class Policy(PolicyModel):
    """An organisation's incident runbook. Load it with ``bot.policy.load_policy``."""

    name: Text
    """The organisation; {company} in templates."""
    timezone: str = "UTC"
    """IANA time zone; channel-name dates and times shown in messages use it."""
    channel: Channel = Field(default_factory=Channel)
    contacts: dict[Key, Contact] = Field(default_factory=dict)
    """Key -> person, user group or channel; the rest of the policy names contacts by key."""
    severities: tuple[Severity, ...] = Field(min_length=1)
    """Most severe first."""
    statuses: Statuses = Field(default_factory=Statuses)
    roles: tuple[RoleName, ...] = ("commander",)
    """Role names; ``commander`` always exists (added first when not listed)."""
    templates: Templates
    escalation: Escalation = Field(default_factory=Escalation)
    permissions: Permissions = Field(default_factory=Permissions)
    status_page: StatusPage = Field(default_factory=StatusPage)
    business_hours: BusinessHours | None = None
    """When durations written ``... in business hours`` run; null: no business hours."""
    follow_through: FollowThrough = Field(default_factory=FollowThrough)
    """After resolution: deadlines, action items and their tracker (policy/follow_through.py)."""
    schedules: dict[Key, Schedule] = Field(default_factory=dict)
    """Key -> on-call schedule; a contact with ``schedule: <key>`` pages who is on call."""

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise problem(
                f'"{value}" is not an IANA time zone; write e.g. UTC, Europe/Paris, '
                "America/New_York"
            ) from None
        return value

    @field_validator("severities")
    @classmethod
    def _unique_severities(cls, value: tuple[Severity, ...]) -> tuple[Severity, ...]:
        found: list[Found] = []
        owner: dict[str, str] = {}
        for index, severity in enumerate(value):
            names: list[tuple[FieldPath, str]] = [((index, "name"), severity.name)]
            names += [((index, "aliases", j), a) for j, a in enumerate(severity.aliases)]
            for loc, name in names:
                key = normalize(name)
                if key in owner:
                    found.append(
                        (
                            loc,
                            f'"{name}" is already a name or alias of {owner[key]} '
                            "(names are compared ignoring case, spaces, - and _)",
                        )
                    )
                else:
                    owner[key] = severity.name
        if found:
            fail(found, value)
        return value

    @field_validator("roles")
    @classmethod
    def _commander_first(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        found = [
            ((i,), f'role "{r}" is listed twice') for i, r in enumerate(value) if r in value[:i]
        ]
        if found:
            fail(found, value)
        return value if "commander" in value else ("commander", *value)

    @model_validator(mode="after")
    def _cross_check(self) -> Self:
        from .checks import cross_references

        found = cross_references(self)
        if found:
            fail(found, self)
        return self

    # --- lookups ---

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def after(self, start: datetime, duration: timedelta) -> datetime:
        """`start` + `duration`; a duration written "in business hours" counts only those."""
        if isinstance(duration, BusinessDelta) and self.business_hours is not None:
            hours = self.business_hours
            return hours.add(start, duration, hours.zone(self.timezone))
        return start + duration

    def participant(self, ref: str) -> str | None:
        """A schedule participant (a member ID or a user contact's key) as a member ID."""
        contact = self.contacts.get(ref)
        if contact is not None:
            return contact.user
        return ref if ref[:1] in {"U", "W"} and ref.isupper() else None

    def severity(self, name: str) -> Severity | None:
        """By name or alias, ignoring case, spaces, ``-`` and ``_`` (SEV-1 = sev1 = Sev 1)."""
        key = normalize(name)
        return next((s for s in self.severities if key in s.keys), None)

    def severity_names(self) -> list[str]:
        return [s.name for s in self.severities]

    def status(self, name: str) -> str | None:
        """The status as the policy spells it, matched ignoring case."""
        return self.statuses.find(name)

    def role(self, name: str) -> str | None:
        """``Tech-Lead``, ``tech lead``, ``TECHLEAD`` -> ``tech_lead`` when declared."""
        key = normalize(name)
        return next((r for r in self.roles if normalize(r) == key), None) if key else None

    def allows(
        self,
        action: Action,
        user: str,
        *,
        commander: str | None = None,
        roles: Mapping[str, str | Collection[str] | None] | None = None,
        usergroups: Collection[str] = (),
        member: bool = False,
    ) -> bool:
        """May ``user`` (a Slack user ID) do ``action``? ``roles`` maps role -> holder(s);
        ``usergroups`` are the IDs of the user groups ``user`` belongs to; ``member``:
        ``user`` is in the incident channel."""
        holders: dict[str, str | Collection[str] | None] = dict(roles or {})
        if commander is not None:
            holders.setdefault("commander", commander)
        for grant in self.permissions.grants(action):
            if grant.kind == "anyone":
                return True
            if grant.kind == "commander" and holders.get("commander") == user:
                return True
            held = holders.get(grant.name) if grant.kind == "role" else None
            if held is not None and (held == user if isinstance(held, str) else user in held):
                return True
            if grant.kind == "roles" and any(
                h == user if isinstance(h, str) else user in h
                for h in holders.values()
                if h is not None
            ):
                return True
            if grant.kind == "members" and member:
                return True
            contact = self.contacts.get(grant.name) if grant.kind == "contact" else None
            if contact is not None and (contact.user == user or contact.usergroup in usergroups):
                return True
        return False
