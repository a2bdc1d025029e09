"""The policy model: an organisation's incident runbook, as the bot understands it.

Every model is frozen and forbids unknown keys. Durations are written ``30s``, ``15m``,
``2h``, ``1d`` and become ``timedelta``; they serialise back to the same text, so
``Policy.model_validate(policy.model_dump(mode="json"))`` gives an equal policy.
Checks that span sections (a severity, contact or role named somewhere else) run in
:meth:`Policy._cross_check`, so a policy built in code is checked like a loaded one.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, Literal, NoReturn, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from .durations import DURATION_PATTERN, format_duration, parse_duration
from .errors import FieldPath
from .templates import (
    CHANNEL_PLACEHOLDERS,
    DEFAULT_TEMPLATES,
    PLACEHOLDERS,
    template_problems,
)

__all__ = [
    "Channel",
    "Contact",
    "Escalation",
    "Grant",
    "Level",
    "Permissions",
    "Policy",
    "Severity",
    "StatusPage",
    "Statuses",
    "Templates",
    "When",
    "normalize",
    "parse_grant",
]


# --- validation helpers ---------------------------------------------------------------


def problem(message: str, **ctx: Any) -> PydanticCustomError:
    """A validation error whose message is exactly ``message``."""
    return PydanticCustomError("policy", "{message}", {"message": message, **ctx})


#: (path relative to the value being validated, message[, line within a template]).
Found = tuple[FieldPath, str] | tuple[FieldPath, str, int]


def fail(problems: Iterable[Found], value: object) -> NoReturn:
    """Raise every problem at once; pydantic prefixes the paths with the value's own."""
    details: list[InitErrorDetails] = []
    for found in problems:
        ctx = {"line_offset": found[2]} if len(found) == 3 else {}
        details.append(InitErrorDetails(type=problem(found[1], **ctx), loc=found[0], input=value))
    raise ValidationError.from_exception_data("Policy", details)


def normalize(name: str) -> str:
    """Severity-name key: ``SEV-1``, ``sev1``, ``Sev 1`` and ``sev_1`` are all ``sev1``."""
    return re.sub(r"[\s_-]+", "", name).lower()


def _quoted(value: object) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def _matching(pattern: str, what: str) -> AfterValidator:
    regex = re.compile(pattern)

    def check(value: str) -> str:
        if not regex.fullmatch(value):
            raise problem(f"{_quoted(value)} is not {what}")
        return value

    return AfterValidator(check)


def _not_blank(value: str) -> str:
    if not value.strip():
        raise problem("must not be empty")
    return value


def _to_duration(value: object) -> object:
    if isinstance(value, timedelta):
        return value
    try:
        return parse_duration(value)  # type: ignore[arg-type]  # non-str is rejected there
    except ValueError as exc:
        raise problem(str(exc)) from None


def _to_maybe_duration(value: object) -> object:
    if value is None or isinstance(value, timedelta):
        return value
    try:
        return parse_duration(value)  # type: ignore[arg-type]  # non-str is rejected there
    except ValueError as exc:
        text = str(exc)
        if "is not a duration" in text:  # not for "is zero": null would not be meant
            text += ", or null for none"
        raise problem(text) from None


def _dump_maybe(value: timedelta | None) -> str | None:
    return None if value is None else format_duration(value)


_DURATION_SCHEMA = {"type": "string", "pattern": DURATION_PATTERN, "examples": ["15m", "1h30m"]}

Duration = Annotated[
    timedelta,
    BeforeValidator(_to_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(_DURATION_SCHEMA),
]
MaybeDuration = Annotated[
    timedelta | None,
    BeforeValidator(_to_maybe_duration),
    PlainSerializer(_dump_maybe, return_type=str | None),
    WithJsonSchema({"anyOf": [_DURATION_SCHEMA, {"type": "null"}]}),
]


def _template_text(value: object) -> object:
    if isinstance(value, dict):
        raise problem('expected text; quote a template that starts with "{", e.g. "{title}"')
    return value


def _check_template(allowed: Collection[str], roles: bool) -> AfterValidator:
    def check(value: str) -> str:
        found = template_problems(value, allowed, roles=roles)
        if found:
            fail([((), p.message, p.line) for p in found], value)
        return value

    return AfterValidator(check)


Text = Annotated[str, AfterValidator(_not_blank)]
Template = Annotated[
    str, BeforeValidator(_template_text), _check_template(PLACEHOLDERS, roles=True)
]
SeverityName = Annotated[
    str,
    _matching(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}", "a severity name (letters, digits, - _ .)"),
]
Key = Annotated[
    str, _matching(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", "a key (letters, digits, - and _)")
]
RoleName = Annotated[
    str, _matching(r"[a-z][a-z0-9_]{0,31}", "a role name (lowercase letters, digits, _)")
]
StatusName = Annotated[
    str, _matching(r"[A-Za-z][A-Za-z0-9_-]{0,31}", "a status (one word: letters, digits, - _)")
]
ChannelRef = Annotated[
    str,
    _matching(
        r"#[a-z0-9_-]{1,80}|[CG][A-Z0-9]{2,}",
        "a channel: write #name or a channel ID such as C0123ABCD",
    ),
]


UserId = Annotated[
    str, _matching(r"[UW][A-Z0-9]{2,}", "a Slack member ID (U0123ABCD: profile > Copy member ID)")
]
UsergroupId = Annotated[str, _matching(r"S[A-Z0-9]{2,}", "a Slack user group ID (S0123ABCD)")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


# --- sections -----------------------------------------------------------------------


class Channel(_Model):
    """The incident channel and where declarations are announced."""

    pattern: Annotated[str, _check_template(CHANNEL_PLACEHOLDERS, roles=False)] = (
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


class Contact(_Model):
    """A person, user group or channel, by Slack ID: exactly one of the three."""

    user: UserId | None = None
    """A member ID (U0123ABCD: profile > Copy member ID)."""
    usergroup: UsergroupId | None = None
    """A user group ID (S0123ABCD)."""
    channel: ChannelRef | None = None
    """``#name`` or a channel ID (C0123ABCD); paging it posts a link to the incident."""
    note: str = ""
    """Free text for people reading the policy (who this is, phone, e-mail)."""

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        given = [k for k in ("user", "usergroup", "channel") if getattr(self, k) is not None]
        if len(given) != 1:
            raise problem(
                "give exactly one of user, usergroup or channel"
                + (f" (found {', '.join(given)})" if given else "")
            )
        return self

    @property
    def kind(self) -> Literal["user", "usergroup", "channel"]:
        if self.user is not None:
            return "user"
        return "usergroup" if self.usergroup is not None else "channel"

    @property
    def ref(self) -> str:
        """The Slack ID (or ``#name`` for a channel written by name)."""
        return self.user or self.usergroup or self.channel or ""


class Severity(_Model):
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


class Statuses(_Model):
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


class Templates(_Model):
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


class When(_Model):
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


class Level(_Model):
    """One step of the escalation chain."""

    name: Text
    """Shown in messages, e.g. Platform Lead."""
    targets: tuple[Key, ...] = Field(min_length=1)
    """Contact keys paged at this level."""
    when: When = Field(default_factory=When)
    """No condition: reached only by /incident escalate or ignored reminders."""
    repeat_every: MaybeDuration = None
    """Page again at this interval until someone acknowledges; null: once."""


class Escalation(_Model):
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


@dataclass(frozen=True)
class Grant:
    """One entry of a permission list: anyone, the commander, a role holder, or a contact
    (a user, or the members of a user group)."""

    kind: Literal["anyone", "commander", "role", "contact"]
    name: str = ""
    usergroup_only: bool = False
    """Written ``usergroup:<key>``: the contact must be a user group."""


_GRANT = re.compile(
    r"(anyone|commander)|role:([a-z][a-z0-9_]*)|(usergroup:)?([A-Za-z0-9][A-Za-z0-9_-]*)"
)
GRANT_HELP = "write commander, anyone, role:<role>, usergroup:<contact> or a contact key"


def parse_grant(text: str) -> Grant | None:
    match = _GRANT.fullmatch(text.strip())
    if match is None:
        return None
    fixed, role, group, key = match.groups()
    if fixed:
        return Grant("anyone" if fixed == "anyone" else "commander")
    if role:
        return Grant("role", role)
    return Grant("contact", key, usergroup_only=group is not None)


def _check_grant(value: str) -> str:
    if parse_grant(value) is None:
        raise problem(f"{_quoted(value)} is not a permission entry; {GRANT_HELP}")
    return value


GrantText = Annotated[str, AfterValidator(_check_grant)]
Grants = Annotated[tuple[GrantText, ...], Field(min_length=1)]

#: What permissions control; see :class:`Permissions`.
Action = Literal[
    "declare", "update", "severity", "commander", "role", "escalate", "resolve", "publish"
]


class Permissions(_Model):
    """Who may do what. ``update`` covers status changes; notes and acks are open to all."""

    declare: Grants = ("anyone",)
    """Declare an incident."""
    update: Grants = ("anyone",)
    """Post updates and change the status."""
    severity: Grants = ("commander",)
    """Change the severity."""
    commander: Grants = ("commander",)
    """Hand over command."""
    role: Grants = ("commander",)
    """Assign roles."""
    escalate: Grants = ("anyone",)
    """Escalate to the next level now."""
    resolve: Grants = ("commander",)
    """Resolve the incident."""
    publish: Grants = ("commander",)
    """Publish to the status page."""

    def grants(self, action: Action) -> tuple[Grant, ...]:
        return tuple(g for g in map(parse_grant, getattr(self, action)) if g is not None)


class StatusPage(_Model):
    """The public status page the bot serves (only what a commander publishes)."""

    title: Text = "Status"
    components: tuple[Text, ...] = ()
    """Parts of the service an incident can be marked as affecting."""


# --- the policy ---------------------------------------------------------------------


class Policy(_Model):
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

    def severity(self, name: str) -> Severity | None:
        """By name or alias, ignoring case, spaces, ``-`` and ``_`` (SEV-1 = sev1 = Sev 1)."""
        key = normalize(name)
        return next((s for s in self.severities if key in s.keys), None)

    def severity_names(self) -> list[str]:
        return [s.name for s in self.severities]

    def status(self, name: str) -> str | None:
        """The status as the policy spells it, matched like a severity name."""
        return self.statuses.find(name)

    def role(self, name: str) -> str | None:
        """``Tech-Lead``, ``tech lead``, ``TECHLEAD`` -> ``tech_lead`` when declared."""
        key = normalize(name)
        return next((r for r in self.roles if normalize(r) == key), None) if key else None

    def contact(self, key: str) -> Contact | None:
        return self.contacts.get(key)

    def allows(
        self,
        action: Action,
        user: str,
        *,
        commander: str | None = None,
        roles: Mapping[str, str | None] | None = None,
        usergroups: Collection[str] = (),
    ) -> bool:
        """May ``user`` (a Slack user ID) do ``action``? ``roles`` maps role -> holder;
        ``usergroups`` are the IDs of the user groups ``user`` belongs to."""
        holders = dict(roles or {})
        if commander is not None:
            holders.setdefault("commander", commander)
        for grant in self.permissions.grants(action):
            if grant.kind == "anyone":
                return True
            if grant.kind == "commander" and holders.get("commander") == user:
                return True
            if grant.kind == "role" and holders.get(grant.name) == user:
                return True
            contact = self.contacts.get(grant.name) if grant.kind == "contact" else None
            if contact is not None and (contact.user == user or contact.usergroup in usergroups):
                return True
        return False
