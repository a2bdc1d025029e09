"""Checks that tie schedules to the rest of the policy: a contact naming a schedule or
a layer that exists, participants and overrides naming people, overrides on a layer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .checks import Problems, _hint
from .errors import FieldPath

if TYPE_CHECKING:
    from .model import Policy


def _person(policy: Policy, ref: str) -> str | None:
    """What is wrong with `ref` as a person on call; None when it is one."""
    contact = policy.contacts.get(ref)
    if contact is not None:
        return None if contact.user else f'contact "{ref}" is a {contact.kind}, not a user'
    if policy.participant(ref) is not None:
        return None
    return f'"{ref}" is neither a Slack member ID (U0123ABCD) nor a user contact' + _hint(
        ref, [k for k, c in policy.contacts.items() if c.user], "user contacts are"
    )


def schedule_refs(policy: Policy) -> Problems:
    found: Problems = []
    for key, contact in policy.contacts.items():
        if contact.schedule is None:
            continue
        schedule = policy.schedules.get(contact.schedule)
        if schedule is None:
            found.append(
                (
                    ("contacts", key, "schedule"),
                    f'unknown schedule "{contact.schedule}"'
                    + _hint(contact.schedule, policy.schedules, "schedules are"),
                )
            )
        elif contact.layer is not None and schedule.layer(contact.layer) is None:
            names = [layer.name for layer in schedule.layers]
            found.append(
                (
                    ("contacts", key, "layer"),
                    f'schedule "{contact.schedule}" has no layer "{contact.layer}"'
                    + _hint(contact.layer, names, "its layers are"),
                )
            )
    for name, schedule in policy.schedules.items():
        base: FieldPath = ("schedules", name)
        for i, layer in enumerate(schedule.layers):
            if not layer.participants:
                found.append(
                    (
                        (*base, "layers", i, "participants"),
                        f'layer "{layer.name}" has no participants; list who takes turns',
                    )
                )
            if layer.restrict and layer.restrict.business_hours and not policy.business_hours:
                found.append(
                    (
                        (*base, "layers", i, "restrict", "business_hours"),
                        "the policy has no business_hours section; add one, or give the "
                        'restriction days, start and end (e.g. start: "09:00", end: "18:00")',
                    )
                )
            for j, ref in enumerate(layer.participants):
                message = _person(policy, ref)
                if message:
                    found.append(((*base, "layers", i, "participants", j), message))
        for i, override in enumerate(schedule.overrides):
            message = _person(policy, override.user)
            if message:
                found.append(((*base, "overrides", i, "user"), message))
            if override.layer is not None and schedule.layer(override.layer) is None:
                names = [layer.name for layer in schedule.layers]
                found.append(
                    (
                        (*base, "overrides", i, "layer"),
                        f'no layer "{override.layer}" in this schedule'
                        + _hint(override.layer, names, "its layers are"),
                    )
                )
    return found
