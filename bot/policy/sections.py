"""The sections of a policy: channel, contacts, severities, statuses, templates,
escalation and status page. Checks that span sections run in Policy._cross_check."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal, Self, get_args

from pydantic import (
    AfterValidator,
    Field,
    field_validator,
    model_validator,
)

from .fields import (
    AckWait,
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
    archive_after: MaybeDuration = None
    """Archive the incident channel this long after resolution (``7d``), with a last
    message first; null: never. An open incident's channel is never archived."""

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
    """Incidents of this severity may be published on the status page (only these)."""
    publish_within: MaybeDuration = None
    """The first status-page update is due this long after the incident reaches this
    severity: the commander is reminded once per window until one is published; null:
    no reminder. Needs status_page: true."""
    invite: tuple[Key, ...] = ()
    """Contact keys (users, user groups) invited to the channel when declared."""
    checklist: tuple[str, ...] = ()
    """Immediate actions, in order."""
    broadcast_updates: bool = False
    """Post status updates and severity changes in the announcement channel too (never
    for a private incident)."""
    monitor_for: MaybeDuration = None
    """A monitoring period before resolving ("normal for 30 minutes"): resolving sooner
    after the status became monitoring asks for confirmation; at its end the commander
    is asked whether to resolve. Null: none."""

    @property
    def keys(self) -> set[str]:
        """Normalised name and aliases."""
        return {normalize(n) for n in (self.name, *self.aliases)}

    def matches(self, name: str) -> bool:
        return normalize(name) in self.keys

    @model_validator(mode="after")
    def _publish_window(self) -> Self:
        if self.publish_within is not None and not self.status_page:
            fail(
                [
                    (
                        ("publish_within",),
                        "a reminder to publish needs status_page: true "
                        "(or set publish_within to null)",
                    )
                ],
                self,
            )
        return self


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
    not_acknowledged_within: AckWait = None
    """Page when the previous level was paged and nobody acknowledged within this;
    ``response_time``: within the severity's response_time."""

    def pages_at_declare(self, severity: Severity) -> bool:
        return any(severity.matches(name) for name in self.at_declare)

    def ack_wait_for(self, severity: Severity) -> timedelta | None:
        """How long the previous level's page may go unacknowledged at `severity`."""
        wait = self.not_acknowledged_within
        return severity.response_time if isinstance(wait, str) else wait

    @property
    def automatic(self) -> bool:
        """Does any condition page the level without a person asking?"""
        return bool(
            self.at_declare or self.unresolved_after or self.not_acknowledged_within is not None
        )

    def unresolved_after_for(self, severity: Severity) -> timedelta | None:
        return next((d for n, d in self.unresolved_after.items() if severity.matches(n)), None)


class Level(PolicyModel):
    """One step of the escalation chain."""

    name: Text
    """Shown in messages, e.g. Platform Lead."""
    targets: tuple[Key, ...] = Field(min_length=1)
    """Contact keys paged at this level."""
    when: When = Field(default_factory=When)
    """No condition: reached only by /incident escalate or missed updates."""
    repeat_every: MaybeDuration = None
    """Page again at this interval until someone acknowledges; null: once."""
    manual: bool = False
    """A judgement call (executives, legal): paged only by a person, with
    /incident escalate; never by a condition or by missed updates."""

    @model_validator(mode="after")
    def _manual_has_no_condition(self) -> Self:
        if self.manual and self.when.automatic:
            message = (
                "a manual level is paged only by a person: remove its when conditions, "
                "or set manual: false"
            )
            fail([(("when",), message)], self)
        return self


class MissedUpdates(PolicyModel):
    """Ignored update reminders that page a level: the commander has gone quiet."""

    after: int = Field(ge=1)
    """Reminders ignored since the last update before the level is paged."""
    page: Text
    """The name of the level paged (not a manual one)."""


class Escalation(PolicyModel):
    """Who is paged, when."""

    nag_limit: int | None = Field(default=None, ge=1)
    """Ignored update reminders before escalating to the next level not paged yet
    (manual levels skipped); null: never. Prefer missed_updates, which names the level."""
    missed_updates: MissedUpdates | None = None
    """After this many ignored reminders, page this level; null: never."""
    levels: tuple[Level, ...] = ()
    """The chain, in order."""

    def level_index(self, name: str) -> int | None:
        """A level by name, ignoring case, spaces, - and _; or by one part of a name
        written "Engineering Manager / CTO", when no other level has that part."""
        key = normalize(name)
        if not key:
            return None
        exact = [i for i, lv in enumerate(self.levels) if normalize(lv.name) == key]
        parts = [
            i
            for i, lv in enumerate(self.levels)
            if key in (normalize(p) for p in lv.name.split("/"))
        ]
        found = exact or parts
        return found[0] if len(found) == 1 else None

    @property
    def missed_updates_level(self) -> int | None:
        return self.level_index(self.missed_updates.page) if self.missed_updates else None

    @model_validator(mode="after")
    def _chain(self) -> Self:
        found: list[Found] = self._missed_updates_problems()
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

    def _missed_updates_problems(self) -> list[Found]:
        if self.missed_updates is None:
            return []
        if self.nag_limit is not None:
            return [(("nag_limit",), "give missed_updates or nag_limit, not both")]
        names = ", ".join(lv.name for lv in self.levels if not lv.manual) or "none"
        index = self.missed_updates_level
        if index is None:
            why = f'no level is named "{self.missed_updates.page}"'
        elif self.levels[index].manual:
            why = f'"{self.levels[index].name}" is manual: paged only by a person'
        else:
            return []
        return [(("missed_updates", "page"), f"{why}; levels that may be paged: {names}")]


_ADDRESS = re.compile(r"[^@\s<>,]+@[^@\s<>,]+\.[^@\s<>,]+")


def _address(value: str) -> str:
    if not _ADDRESS.fullmatch(value):
        raise problem(f'"{value}" is not an e-mail address (name@example.com)')
    return value


EmailAddress = Annotated[str, AfterValidator(_address)]


class Subscribers(PolicyModel):
    """Each published update goes to these as well, once."""

    channels: tuple[ChannelRef, ...] = ()
    """Slack channels (#name or ID), e.g. a channel shared with a customer."""
    emails: tuple[EmailAddress, ...] = ()
    """E-mail addresses, sent through SMTP_URL."""
    email_from: EmailAddress | None = None
    """The sender of those e-mails; null: status@ the PUBLIC_URL's host."""


class StatusPage(PolicyModel):
    """The public status page the bot serves (only what a commander publishes)."""

    title: Text = "Status"
    components: tuple[Text, ...] = ()
    """Parts of the service an incident can be marked as affecting."""
    subscribers: Subscribers = Field(default_factory=Subscribers)
    """Who else gets each published update, once (besides the page and its feed)."""

    @field_validator("components")
    @classmethod
    def _distinct(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        seen: set[str] = set()
        for name in value:
            if name.lower() in seen:
                raise problem(f'component "{name}" is listed twice')
            seen.add(name.lower())
        return value
