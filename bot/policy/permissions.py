"""Who may do what: the permission lists of a policy and their entries (grants)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    Field,
)

from .fields import PolicyModel, problem, quoted


@dataclass(frozen=True)
class Grant:
    """One entry of a permission list: anyone, the commander, a role holder (of one role,
    or of any: ``roles``), the members of the incident channel (``members``), or a
    contact (a user, or the members of a user group)."""

    kind: Literal["anyone", "commander", "roles", "members", "role", "contact"]
    name: str = ""
    usergroup_only: bool = False
    """Written ``usergroup:<key>``: the contact must be a user group."""


_GRANT = re.compile(
    r"(anyone|commander|roles|members)|role:([a-z][a-z0-9_]*)"
    r"|(usergroup:)?([A-Za-z0-9][A-Za-z0-9_-]*)"
)
_FIXED: dict[str, Grant] = {
    g.kind: g for g in (Grant("anyone"), Grant("commander"), Grant("roles"), Grant("members"))
}
GRANT_HELP = (
    "write commander, roles, members, anyone, role:<role>, usergroup:<contact> or a contact key"
)


def parse_grant(text: str) -> Grant | None:
    match = _GRANT.fullmatch(text.strip())
    if match is None:
        return None
    fixed, role, group, key = match.groups()
    if fixed:
        return _FIXED[fixed]
    if role:
        return Grant("role", role)
    return Grant("contact", key, usergroup_only=group is not None)


def _check_grant(value: str) -> str:
    if parse_grant(value) is None:
        raise problem(f"{quoted(value)} is not a permission entry; {GRANT_HELP}")
    return value


GrantText = Annotated[str, AfterValidator(_check_grant)]
Grants = Annotated[tuple[GrantText, ...], Field(min_length=1)]

#: What permissions control; see :class:`Permissions`.
Action = Literal[
    "declare", "update", "severity", "commander", "role", "escalate", "resolve", "publish"
]


class Permissions(PolicyModel):
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
    escalate: Grants = ("commander", "roles", "members")
    """Page a level now: by default the commander, role holders and the members of
    the incident channel (someone outside it cannot page the executives)."""
    resolve: Grants = ("commander",)
    """Resolve the incident."""
    publish: Grants = ("commander",)
    """Publish to the status page."""

    def grants(self, action: Action) -> tuple[Grant, ...]:
        return tuple(g for g in map(parse_grant, getattr(self, action)) if g is not None)
