"""Who a page addresses: a level's targets resolved, at the moment of the page, into the
people, groups and channels it reaches. ONE function does it (`resolve`), so that a new
kind of target (an on-call schedule: whoever is on call now; a paging service) is one
more branch there and every page, ack and summary follows.

A page stores what it addressed (`Addressed.as_json`): an acknowledgement is matched
against that record, not against the policy or a group as it is later."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.incidents.chat import Chat, ChatError
from bot.policy.model import Contact, Level, Policy


@dataclass(frozen=True)
class Addressed:
    """One target of one page: the contact key, its kind, and whom it reached."""

    key: str
    kind: str  # a Contact.kind: user | usergroup | channel | schedule | pagerduty | opsgenie
    # The people it reached, as resolved when paged; for a schedule, who was on call then.
    users: tuple[str, ...] = ()
    group: str | None = None  # a user group's id: its members may acknowledge
    channel: str | None = None  # a channel: gets a link; nobody acknowledges for it

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "users": list(self.users),
            "group": self.group,
            "channel": self.channel,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Addressed:
        return cls(
            key=str(data.get("key", "")),
            kind=str(data.get("kind", "")),
            users=tuple(data.get("users") or ()),
            group=data.get("group"),
            channel=data.get("channel"),
        )


@dataclass
class Targets:
    """A level's targets resolved for one page."""

    addressed: list[Addressed] = field(default_factory=list)
    mentions: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def users(self) -> list[str]:
        """Every person reached, once, in the order of the level's targets."""
        return list(dict.fromkeys(u for a in self.addressed for u in a.users))

    @property
    def channels(self) -> list[str]:
        return [a.channel for a in self.addressed if a.channel]

    @property
    def on_call(self) -> dict[str, str]:
        """Contact key -> the member on call there at the moment of the page."""
        return {a.key: a.users[0] for a in self.addressed if a.kind == "schedule" and a.users}

    @property
    def services(self) -> list[str]:
        """Keys of the paging-service contacts (PagerDuty, Opsgenie), alerted beside it."""
        return [a.key for a in self.addressed if a.kind in SERVICES]

    def why(self, user: str) -> str:
        """Why `user` is paged: the contact keys that reached them."""
        keys = [a.key for a in self.addressed if user in a.users]
        return ", ".join(keys)


SERVICES = {"pagerduty": "PagerDuty", "opsgenie": "Opsgenie"}

# The member a contact naming a schedule (or a layer) pages at a moment; None: nobody
# is on call there then (bot/incidents/oncall.py `OnCallBook.paged`).
OnCallAt = Callable[[Policy, Contact, datetime], Awaitable[str | None]]


async def resolve(
    chat: Chat, policy: Policy, level: Level, *, at: datetime, on_call: OnCallAt
) -> Targets:
    """The people, groups, channels and paging services `level` pages at `at` (reads
    only: group members, who is on call)."""
    t = Targets()
    for key in level.targets:
        contact = policy.contacts[key]
        match contact.kind:
            case "user":
                assert contact.user is not None
                t.addressed.append(Addressed(key, "user", users=(contact.user,)))
                t.mentions.append(chat.user_ref(contact.user))
            case "usergroup":
                assert contact.usergroup is not None
                t.mentions.append(chat.group_ref(contact.usergroup))
                members: Sequence[str] = ()
                try:
                    members = await chat.group_members(contact.usergroup)
                except ChatError as e:
                    t.problems.append(f"could not read the members of `{key}`: `{e.code}`")
                t.addressed.append(
                    Addressed(key, "usergroup", users=tuple(members), group=contact.usergroup)
                )
            case "channel":
                assert contact.channel is not None
                t.addressed.append(Addressed(key, "channel", channel=contact.channel))
                t.mentions.append(chat.channel_ref(contact.channel))
            case "schedule":
                user = await on_call(policy, contact, at)
                if user is None:
                    t.problems.append(f"nobody is on call in `{key}` right now")
                    continue
                t.addressed.append(Addressed(key, "schedule", users=(user,)))
                t.mentions.append(chat.user_ref(user))
            case "pagerduty" | "opsgenie":
                # Alerted beside the page (bot/incidents/alerts.py); nobody to DM here.
                t.addressed.append(Addressed(key, contact.kind))
                t.mentions.append(f"{SERVICES[contact.kind]} `{key}`")
    return t


GroupMembers = Callable[[str], Awaitable[Sequence[str]]]


async def addresses(stored: list[dict[str, Any]] | None, user: str, members: GroupMembers) -> bool:
    """Was a page with these stored targets addressed to `user`? Directly, or through a
    user group (its members when paged, or now: someone who joined the on-call group
    since may answer). A page recorded before pages kept their targets (None) is open
    to anyone, as acknowledgements were then."""
    if stored is None:
        return True
    targets = [Addressed.from_json(d) for d in stored]
    if any(user in a.users for a in targets):
        return True
    for a in targets:
        if a.group is None:
            continue
        try:
            if user in await members(a.group):
                return True
        except ChatError:
            continue
    return False
