"""Who a severity invites: its contacts' users and user groups' members, read from the
chat, and for a schedule whoever is on call at that moment. Used when an incident is
declared and when it is changed to that severity."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.incidents.chat import Chat, ChatError
from bot.policy.model import Contact, Policy, Severity

# The member on call now for a contact naming a schedule; None: nobody is.
OnCallNow = Callable[[Contact], Awaitable[str | None]]


async def severity_invitees(
    chat: Chat,
    policy: Policy,
    sev: Severity,
    first: str | None = None,
    on_call: OnCallNow | None = None,
) -> tuple[list[str], list[str]]:
    """(users, problems): `first` (the commander) then the severity's invitees, once
    each; a user group that cannot be read, or a schedule with nobody on call, is a
    problem to report, not a failure."""
    users = [first] if first else []
    problems: list[str] = []
    for key in sev.invite:
        contact = policy.contacts[key]
        if contact.user:
            users.append(contact.user)
        elif contact.usergroup:
            try:
                users += await chat.group_members(contact.usergroup)
            except ChatError as e:
                problems.append(f"Could not read the members of `{key}`: `{e.code}`.")
        elif contact.schedule and on_call is not None:
            user = await on_call(contact)
            if user is None:
                problems.append(f"Nobody is on call in `{key}` right now to invite.")
            else:
                users.append(user)
    return list(dict.fromkeys(users)), problems
