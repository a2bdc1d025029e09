"""People by name in what is read outside the chat (the postmortem, the export): the
chat's markup becomes plain Markdown and its user IDs the people's names, each looked
up once. The chat side implements `People` (bot/slack/people.py)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Protocol


class People(Protocol):
    async def names(self, user_ids: Collection[str]) -> dict[str, str]:
        """{user id: display name} of those that could be looked up (cached)."""
        ...

    def mentioned(self, text: str) -> set[str]:
        """The user IDs mentioned in a message's markup."""
        ...

    def markdown(self, text: str, names: Mapping[str, str]) -> str:
        """A message's markup as plain Markdown, people by name."""
        ...


class NamedRefs:
    """Refs (bot/incidents/values.py) that write a person as @Name, for Markdown."""

    def __init__(self, names: Mapping[str, str]) -> None:
        self.names = names

    def user_ref(self, user_id: str) -> str:
        return f"@{self.names.get(user_id, user_id)}"

    def channel_ref(self, channel: str) -> str:
        return channel if channel.startswith("#") else f"#{channel}"

    def literal(self, text: str) -> str:
        return text
