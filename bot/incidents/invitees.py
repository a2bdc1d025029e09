"""Who a severity invites: its contacts' users and user groups' members, read from the
chat. Used when an incident is declared and when it is changed to that severity."""

from __future__ import annotations

from bot.incidents.chat import Chat, ChatError
from bot.policy.model import Policy, Severity


async def severity_invitees(
    chat: Chat, policy: Policy, sev: Severity, first: str | None = None
) -> tuple[list[str], list[str]]:
    """(users, problems): `first` (the commander) then the severity's invitees, once
    each; a user group that cannot be read is a problem to report, not a failure."""
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
    return list(dict.fromkeys(users)), problems
