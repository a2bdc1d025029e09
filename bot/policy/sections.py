"""The sections of a policy: channel, contacts, severities, statuses, templates,
escalation and status page. Checks that span sections run in Policy._cross_check."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal, Self, get_args

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from .fields import (
    ChannelRef,
    Duration,
    Found,
    Key,
    MaybeDuration,
    PolicyModel,
    SeverityName,
    StatusName,
    Template,
    Text,
    UsergroupId,
    UserId,
    check_template,
    fail,
    normalize,
    problem,
)
from .paging import Opsgenie, PagerDuty
from .templates import (
    CHANNEL_PLACEHOLDERS,
    DEFAULT_TEMPLATES,
)


class Channel(PolicyModel):
    """The incident channel and where declarations are announced."""

    pattern: Annotated[str, check_template(CHANNEL_PLACEHOLDERS, roles=False)] = (
        "incident-{date}-{slug}"
    )
    """Placeholders: see ``templates.CHANNEL_PLACEHOLDERS``."""
    announce: ChannelRef | None = "#incidents"
    """Where declarations are announced; null: nowhere. Private incidents never are."""
    topic: Template = DEFAULT_TEMPLATES["topic"]
    """The channel topic, with the same placeholders as the templates."""

    @field_validator("pattern")
    @classmethod
    def _channel_chars(cls, value: str) -> str:
        literal = re.sub(r"\{[^{}]*\}", "", value).lstrip("#")
        bad = sorted(set(re.sub(r"[a-z0-9_-]", "", literal)))
        if bad:
            raise problem(
                f"{''.join(bad)!r} cannot be in a channel name; use lowercase a-z, 0-9, - and _"
            )
        if not value.strip("#"):
            raise problem("must not be empty")
        return value


ContactKind = Literal["user", "usergroup", "channel", "schedule", "pagerduty", "opsgenie"]
CONTACT_KINDS: tuple[ContactKind, ...] = get_args(ContactKind)


class Contact(PolicyModel):
    """A person, user group or channel by Slack ID, an on-call schedule, or a paging
    service: exactly one of them."""

    user: UserId | None = None
    """A member ID (U0123ABCD: profile > Copy member ID)."""
    usergroup: UsergroupId | None = None
    """A user group ID (S0123ABCD)."""
    channel: ChannelRef | None = None
    """``#name`` or a channel ID (C0123ABCD); paging it posts a link to the incident."""
    schedule: Key | None = None
    """The key of a schedule: pages whoever is on call there at the moment of the page."""
    layer: Key | None = None
    """With schedule: that layer only (e.g. secondary); without: the first layer with
    someone on call."""
    pagerduty: PagerDuty | None = None
    """A PagerDuty service: a page triggers an alert there (bot/policy/paging.py)."""
    opsgenie: Opsgenie | None = None
    """An Opsgenie team: a page creates an alert there."""
    note: str = ""
    """Free text for people reading the policy (who this is, phone, e-mail)."""

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        given = [k for k in CONTACT_KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise problem(
                "give exactly one of user, usergroup or channel (or schedule, pagerduty, opsgenie)"
                + (f" (found {', '.join(given)})" if given else "")
            )
        if self.layer is not None and self.schedule is None:
            raise problem("layer names a layer of a schedule; give schedule too")
        return self

    @property
    def kind(self) -> ContactKind:
        return next(k for k in CONTACT_KINDS if getattr(self, k) is not None)

    @property
    def ref(self) -> str:
        """The Slack ID (or ``#name`` for a channel written by name)."""
        return self.user or self.usergroup or self.channel or ""


class Severity(PolicyModel):
    """One severity level; the list in the policy runs from most to least severe."""

    name: SeverityName
    """What responders type: ``/incident P1 Checkout down``."""
    aliases: tuple[SeverityName, ...] = ()
    """Other names for it (matched ignoring case, spaces, - and _)."""
    label: Text
    """Short description, e.g. Critical - Production Down."""
    impact: Text
    """When to use this severity."""
    examples: tuple[str, ...] = ()
    """Typical incidents of this severity (shown when choosing one)."""
    response_time: MaybeDuration = None
    """Expected time to respond (informational); null: none stated."""
    update_every: MaybeDuration = None
    """Update cadence; null means "as needed": no update reminders."""
    resolve_within: MaybeDuration = None
    """Resolution target (informational); null: none stated."""
    private: bool = False
    """Private channel, never announced, never on the status page."""
    status_page: bool = False
    """The runbook expects customer-facing status-page updates at this severity."""
    invite: tuple[Key, ...] = ()
    """Contact keys (users, user groups) invited to the channel when declared."""
    checklist: tuple[str, ...] = ()
    """Immediate actions, in order."""

    @property
    def keys(self) -> set[str]:
        """Normalised name and aliases."""
        return {normalize(n) for n in (self.name, *self.aliases)}

    def matches(self, name: str) -> bool:
        return normalize(name) in self.keys


class Statuses(PolicyModel):
    """The statuses an incident moves through (matched ignoring case)."""

    values: tuple[StatusName, ...] = ("investigating", "identified", "monitoring", "resolved")
    """Every status, in their usual order."""
    initial: StatusName = "investigating"
    """The status of a newly declared incident."""
    final: StatusName = "resolved"
    """The status set by /incident resolve."""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        found: list[Found] = []
        seen: dict[str, int] = {}
        for index, value in enumerate(self.values):
            if value.lower() in seen:
                found.append((("values", index), f'"{value}" is listed twice'))
            seen.setdefault(value.lower(), index)
        listed = ", ".join(self.values)
        for key in ("initial", "final"):
            value = getattr(self, key)
            if value.lower() not in seen:
                found.append(
                    (
                        (key,),
                        f'{key} status "{value}" is not in values ({listed}); '
                        f"set {key} to one of them",
                    )
                )
        if self.initial.lower() == self.final.lower():
            found.append((("final",), "the final status must differ from the initial one"))
        if found:
            fail(found, self)
        return self

    def find(self, name: str) -> str | None:
        key = normalize(name)
        return next((v for v in self.values if normalize(v) == key), None) if key else None


class Templates(PolicyModel):
    """Message texts with ``{placeholders}`` (see ``templates.PLACEHOLDERS``)."""

    announcement: Template
    """Posted and pinned in the incident channel, and in the announcement channel."""
    update: Template = DEFAULT_TEMPLATES["update"]
    """A status update (/incident update)."""
    resolution: Template = DEFAULT_TEMPLATES["resolution"]
    """Posted when the incident is resolved."""
    customer_update: Template = DEFAULT_TEMPLATES["customer_update"]
    """A status-page entry, when the commander publishes an update."""
    customer_resolution: Template = DEFAULT_TEMPLATES["customer_resolution"]
    """The status-page entry that closes a published incident."""
    postmortem: Template = DEFAULT_TEMPLATES["postmortem"]
    """The postmortem draft (Markdown)."""
    nag: Template = DEFAULT_TEMPLATES["nag"]
    """The reminder sent to the commander when an update is due."""
    escalation: Template = DEFAULT_TEMPLATES["escalation"]
    """Posted in the incident channel when a level is paged."""


class When(PolicyModel):
    """Conditions that page a level; any one of them is enough."""

    at_declare: tuple[SeverityName, ...] = ()
    """Severities (names or aliases) paged as soon as the incident is declared."""
    unresolved_after: dict[SeverityName, Duration] = Field(default_factory=dict)
    """Severity -> page when the incident is still open this long after declaring."""
    not_acknowledged_within: MaybeDuration = None
    """Page when the previous level was paged and nobody acknowledged within this."""

    def pages_at_declare(self, severity: Severity) -> bool:
        return any(severity.matches(name) for name in self.at_declare)

    def unresolved_after_for(self, severity: Severity) -> timedelta | None:
        return next((d for n, d in self.unresolved_after.items() if severity.matches(n)), None)


class Level(PolicyModel):
    """One step of the escalation chain."""

    name: Text
    """Shown in messages, e.g. Platform Lead."""
    targets: tuple[Key, ...] = Field(min_length=1)
    """Contact keys paged at this level."""
    when: When = Field(default_factory=When)
    """No condition: reached only by /incident escalate or ignored reminders."""
    repeat_every: MaybeDuration = None
    """Page again at this interval until someone acknowledges; null: once."""


class Escalation(PolicyModel):
    """Who is paged, when."""

    nag_limit: int | None = Field(default=None, ge=1)
    """Ignored update reminders before escalating to the next level; null: never."""
    levels: tuple[Level, ...] = ()
    """The chain, in order."""

    @model_validator(mode="after")
    def _chain(self) -> Self:
        found: list[Found] = []
        if self.levels and self.levels[0].when.not_acknowledged_within is not None:
            found.append(
                (
                    ("levels", 0, "when", "not_acknowledged_within"),
                    "the first level has no earlier page to wait for; "
                    "use at_declare or unresolved_after",
                )
            )
        seen: set[str] = set()
        for index, level in enumerate(self.levels):
            if level.name.lower() in seen:
                found.append((("levels", index, "name"), f'level "{level.name}" is listed twice'))
            seen.add(level.name.lower())
        if found:
            fail(found, self)
        return self


class StatusPage(PolicyModel):
    """The public status page the bot serves (only what a commander publishes)."""

    title: Text = "Status"
    components: tuple[Text, ...] = ()
    """Parts of the service an incident can be marked as affecting."""
