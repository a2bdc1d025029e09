"""The checks before a change: the incident is still open, and the policy it started
with grants the action to the user (as commander, role holder, contact, member of a
user group or of the incident channel; Slack is asked for groups and channel members
only when nothing else grants it)."""

from __future__ import annotations

import logging

from bot.incidents.chat import Chat, ChatError
from bot.incidents.errors import IncidentClosed, NotAllowed
from bot.incidents.policy_book import PolicyBook
from bot.policy.permissions import Action as PolicyAction
from bot.policy.permissions import Grant
from bot.store.repo import Store
from bot.store.tables import Incident

log = logging.getLogger(__name__)

ACTION_WORDS = {
    "update": "post updates",
    "severity": "change the severity",
    "commander": "hand over command",
    "role": "assign roles",
    "escalate": "escalate",
    "resolve": "resolve",
}


def _grant_words(g: Grant) -> str:
    fixed = {
        "anyone": "anyone",
        "commander": "the commander",
        "roles": "role holders",
        "members": "members of the incident channel",
    }
    return fixed.get(
        g.kind, f"the {g.name.replace('_', ' ')}" if g.kind == "role" else f"`{g.name}`"
    )


class Checks:
    def __init__(self, store: Store, chat: Chat, policy: PolicyBook) -> None:
        self.store = store
        self.chat = chat
        self.policy = policy

    async def may(self, incident: Incident, user: str, action: PolicyAction) -> bool:
        """Does the incident's policy grant `action` to `user`?"""
        pol = await self.policy.of(incident)
        roles = await self.store.roles(incident.id)
        if pol.allows(action, user, commander=incident.commander_id, roles=roles):
            return True
        # Only now ask Slack who is in the user groups the grant names.
        groups: list[str] = []
        for grant in pol.permissions.grants(action):
            contact = pol.contacts.get(grant.name) if grant.kind == "contact" else None
            if contact is not None and contact.usergroup:
                try:
                    if user in await self.chat.group_members(contact.usergroup):
                        groups.append(contact.usergroup)
                except ChatError as e:
                    log.warning("permission check: group %s unreadable: %s", grant.name, e.code)
        # And who is in the incident channel, when a grant names its members.
        member = False
        if incident.channel_id and any(g.kind == "members" for g in pol.permissions.grants(action)):
            try:
                member = user in await self.chat.channel_members(incident.channel_id)
            except ChatError as e:
                log.warning("permission check: channel members unreadable: %s", e.code)
        return pol.allows(
            action,
            user,
            commander=incident.commander_id,
            roles=roles,
            usergroups=groups,
            member=member,
        )

    async def check(self, incident: Incident, user: str, action: PolicyAction) -> None:
        """Refuse, saying why, unless `user` may do `action` now."""
        if incident.resolved_at is not None:
            raise IncidentClosed(
                f"{incident.number} is resolved. Declare a new incident with "
                "`/incident <severity> <title>` if it is back."
            )
        if not await self.may(incident, user, action):
            who = " or ".join(
                _grant_words(g) for g in (await self.policy.of(incident)).permissions.grants(action)
            )
            raise NotAllowed(
                f"You may not {ACTION_WORDS.get(action, action)} in {incident.number}: that "
                f"is for {who} (commander: {self.chat.user_ref(incident.commander_id)}). "
                "Ask them, or have the commander hand over with `/incident commander @you`."
            )
