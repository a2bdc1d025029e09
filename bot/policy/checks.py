"""Checks that span sections of a policy: every severity, contact and role named in one
place must be declared in another. Each problem is (path in the document, message)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import get_args

from .durations import BusinessDelta
from .errors import FieldPath
from .model import Policy
from .permissions import Action, Grant
from .templates import ROLE_PREFIX, field_lines

__all__ = ["cross_references"]

Problems = list[tuple[FieldPath, str] | tuple[FieldPath, str, int]]


def _hint(name: str, known: Iterable[str], what: str) -> str:
    choices = list(known)
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    if close:
        return f'; did you mean "{close[0]}"?'
    return f"; {what}: {', '.join(choices)}" if choices else f"; there are no {what}"


def cross_references(policy: Policy) -> Problems:
    from .schedule_checks import schedule_refs  # it uses _hint from here

    return [
        *_severity_refs(policy),
        *_contact_refs(policy),
        *_permission_refs(policy),
        *_template_role_refs(policy),
        *schedule_refs(policy),
        *_monitoring_refs(policy),
        *_business_refs(policy),
        *_follow_through_refs(policy),
    ]


def _monitoring_refs(policy: Policy) -> Problems:
    """monitor_for counts from the status "monitoring": without one it could never end."""
    if policy.status("monitoring") is not None:
        return []
    listed = ", ".join(policy.statuses.values)
    return [
        (
            ("severities", i, "monitor_for"),
            'counts from the status "monitoring", which statuses.values lacks '
            f"({listed}); add it, or remove monitor_for",
        )
        for i, sev in enumerate(policy.severities)
        if sev.monitor_for is not None
    ]


def _severity_refs(policy: Policy) -> Problems:
    found: Problems = []
    names = policy.severity_names()
    for i, level in enumerate(policy.escalation.levels):
        base: FieldPath = ("escalation", "levels", i, "when")
        for j, name in enumerate(level.when.at_declare):
            if policy.severity(name) is None:
                found.append(
                    (
                        (*base, "at_declare", j),
                        f'unknown severity "{name}"' + _hint(name, names, "severities are"),
                    )
                )
        seen: dict[str, str] = {}
        for name in level.when.unresolved_after:
            severity = policy.severity(name)
            path: FieldPath = (*base, "unresolved_after", name)
            if severity is None:
                found.append(
                    (path, f'unknown severity "{name}"' + _hint(name, names, "severities are"))
                )
            elif severity.name in seen:
                found.append((path, f'"{name}" and "{seen[severity.name]}" are the same severity'))
            else:
                seen[severity.name] = name
    return found


def _contact_refs(policy: Policy) -> Problems:
    found: Problems = []
    keys = list(policy.contacts)

    def check(path: FieldPath, key: str) -> None:
        if key not in policy.contacts:
            found.append((path, f'unknown contact "{key}"' + _hint(key, keys, "contacts are")))

    for i, severity in enumerate(policy.severities):
        for j, key in enumerate(severity.invite):
            check(("severities", i, "invite", j), key)
            contact = policy.contacts.get(key)
            if contact is not None and contact.kind in ("pagerduty", "opsgenie"):
                found.append(
                    (
                        ("severities", i, "invite", j),
                        f'contact "{key}" is a {contact.kind}, which cannot be invited; page it '
                        "from an escalation level instead",
                    )
                )
            if contact is not None and contact.kind == "channel":
                found.append(
                    (
                        ("severities", i, "invite", j),
                        f'contact "{key}" is a channel, which cannot be invited; page it from '
                        "an escalation level instead (it gets a link to the incident)",
                    )
                )
    for i, level in enumerate(policy.escalation.levels):
        for j, key in enumerate(level.targets):
            check(("escalation", "levels", i, "targets", j), key)
    return found


def _permission_refs(policy: Policy) -> Problems:
    found: Problems = []
    for action in get_args(Action):
        entries: tuple[str, ...] = getattr(policy.permissions, action)
        grants = policy.permissions.grants(action)
        for j, (entry, grant) in enumerate(zip(entries, grants, strict=True)):
            message = _grant_problem(policy, entry, grant)
            if message:
                found.append((("permissions", action, j), message))
    return found


def _grant_problem(policy: Policy, entry: str, grant: Grant) -> str | None:
    if grant.kind == "role" and grant.name not in policy.roles:
        return f'role "{grant.name}" is not declared' + _hint(grant.name, policy.roles, "roles are")
    if grant.kind != "contact":
        return None
    contact = policy.contacts.get(grant.name)
    if contact is None:
        return (
            f'"{entry}" is not commander, anyone, role:<role>, usergroup:<contact> or a '
            "contact key" + _hint(grant.name, policy.contacts, "contacts are")
        )
    if contact.kind not in ("user", "usergroup"):
        kind = contact.kind
        return f'contact "{grant.name}" is a {kind}; permissions take users and user groups'
    if grant.usergroup_only and contact.kind != "usergroup":
        return f'contact "{grant.name}" is a {contact.kind}, not a usergroup; write {grant.name}'
    return None


def _template_role_refs(policy: Policy) -> Problems:
    found: Problems = []
    texts: list[tuple[FieldPath, str]] = [(("channel", "topic"), policy.channel.topic)]
    texts += [(("templates", name), text) for name, text in policy.templates]
    for path, text in texts:
        for line, name in field_lines(text):
            if name.startswith(ROLE_PREFIX) and name[len(ROLE_PREFIX) :] not in policy.roles:
                role = name[len(ROLE_PREFIX) :]
                found.append(
                    (
                        path,
                        f'{{{name}}} names role "{role}", which is not declared in roles'
                        + _hint(role, policy.roles, "roles are"),
                        line,
                    )
                )
    return found


def _business_refs(policy: Policy) -> Problems:
    """A duration "in business hours" needs the policy's business_hours."""
    if policy.business_hours is not None:
        return []
    found: Problems = []
    message = "counts business hours, but the policy declares no business_hours: add one"
    for i, sev in enumerate(policy.severities):
        for name in ("response_time", "update_every", "resolve_within"):
            if isinstance(getattr(sev, name), BusinessDelta):
                found.append((("severities", i, name), message))
    for i, level in enumerate(policy.escalation.levels):
        base: FieldPath = ("escalation", "levels", i, "when")
        for sev_name, d in level.when.unresolved_after.items():
            if isinstance(d, BusinessDelta):
                found.append(((*base, "unresolved_after", sev_name), message))
        if isinstance(level.when.not_acknowledged_within, BusinessDelta):
            found.append(((*base, "not_acknowledged_within"), message))
    return found


def _follow_through_refs(policy: Policy) -> Problems:
    names = policy.severity_names()
    return [
        (
            ("follow_through", "steps", i, "severities", j),
            f'unknown severity "{name}"' + _hint(name, names, "severities are"),
        )
        for i, step in enumerate(policy.follow_through.steps)
        for j, name in enumerate(step.severities)
        if policy.severity(name) is None
    ]
