"""The words of one policy version, matched by the policy's own matchers (Policy.severity,
status, role): the parser and the use cases agree on what `sev-1` or `Tech-Lead` means."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.policy.fields import normalize
from bot.policy.model import Policy


@dataclass(frozen=True)
class Vocabulary:
    """Build it from the policy the command is for: the incident's own version for the
    in-incident verbs, the current one to declare."""

    policy: Policy

    def severity_names(self) -> list[str]:
        return self.policy.severity_names()

    def aliases(self, name: str) -> list[str]:
        """The other spellings of a severity a user may type, for the help."""
        sev = self.policy.severity(name)
        others = {a for a in sev.aliases if normalize(a) != normalize(sev.name)} if sev else set()
        return sorted(others)

    @property
    def statuses(self) -> Sequence[str]:
        return self.policy.statuses.values

    @property
    def roles(self) -> Sequence[str]:
        return self.policy.roles

    def find_severity(self, word: str) -> str | None:
        found = self.policy.severity(word)
        return found.name if found is not None else None

    def find_status(self, word: str) -> str | None:
        return self.policy.status(word)

    def find_role(self, word: str) -> str | None:
        return self.policy.role(word)

    @property
    def levels(self) -> Sequence[str]:
        return [lv.name for lv in self.policy.escalation.levels]

    def find_level(self, words: str) -> str | None:
        index = self.policy.escalation.level_index(words)
        return self.policy.escalation.levels[index].name if index is not None else None
