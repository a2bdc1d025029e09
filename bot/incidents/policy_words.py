"""A severity, status, role or escalation level read from what a user typed: one matcher each (the
policy's, which ignores case, spaces, `-` and `_`), and one refusal saying what would
work. Declare, the controls and the modals all come through here."""

from __future__ import annotations

from bot.incidents.errors import UnknownLevel, UnknownRole, UnknownSeverity, UnknownStatus
from bot.policy.model import Policy, Severity


def severity_named(policy: Policy, name: str) -> Severity:
    sev = policy.severity(name)
    if sev is None:
        names = ", ".join(f"`{s}`" for s in policy.severity_names())
        raise UnknownSeverity(f"Unknown severity `{name}`. Use one of: {names}.")
    return sev


def status_named(policy: Policy, name: str) -> str:
    status = policy.status(name)
    if status is None:
        names = ", ".join(f"`{s}`" for s in policy.statuses.values)
        raise UnknownStatus(f"Unknown status `{name}`. Use one of: {names}.")
    return status


def role_named(policy: Policy, name: str) -> str:
    role = policy.role(name)
    if role is None:
        roles = ", ".join(f"`{r}`" for r in policy.roles)
        raise UnknownRole(f"Unknown role `{name}`. Roles: {roles}.")
    return role


def level_named(policy: Policy, name: str) -> int:
    """An escalation level by its name, or one part of a name like "Engineering
    Manager / CTO"; its index in the chain."""
    index = policy.escalation.level_index(name)
    if index is None:
        names = ", ".join(f"`{lv.name}`" for lv in policy.escalation.levels) or "none"
        raise UnknownLevel(f"No escalation level is named `{name}`. Levels: {names}.")
    return index
