"""Errors found in a policy file: each names the file, the line and the field."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["FieldPath", "PolicyError", "PolicyInvalid", "format_path"]

#: A position in the policy document: mapping keys and sequence indexes, from the root.
FieldPath = tuple[str | int, ...]

_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def format_path(path: Sequence[str | int]) -> str:
    """``("severities", 1, "update_every")`` -> ``severities[1].update_every``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            out += f".{part}" if out else part
        else:
            quoted = part.replace("\\", "\\\\").replace('"', '\\"')
            out += f'["{quoted}"]'
    return out


@dataclass(frozen=True)
class PolicyError:
    """One problem in a policy: ``file:line: field: message``."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        if not self.field:
            return f"{where}: {self.message}"
        return f"{where}: {self.field}: {self.message}"


class PolicyInvalid(Exception):
    """A policy that cannot be used, with every problem found (ordered by line)."""

    def __init__(self, errors: Iterable[PolicyError]) -> None:
        self.errors: list[PolicyError] = sorted(
            errors, key=lambda e: (e.file, e.line if e.line is not None else 0)
        )
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)
