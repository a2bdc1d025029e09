"""How handlers refuse a call, and helpers to read Slack's loosely typed arguments."""

from __future__ import annotations

import json
from typing import Any

Args = dict[str, Any]


class SlackError(Exception):
    """An `{"ok": false, "error": ...}` answer (HTTP 200), with optional extra fields."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"ok": False, "error": self.error, **self.extra}


class RateLimited(Exception):
    """An HTTP 429 answer with a Retry-After header."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"rate limited, retry after {retry_after}s")
        self.retry_after = retry_after


def invalid(error: str, messages: list[str]) -> SlackError:
    # Slack explains schema failures in response_metadata.messages.
    return SlackError(error, response_metadata={"messages": messages})


def present(args: Args, name: str) -> bool:
    """Slack treats an empty string like a missing argument."""
    return args.get(name) not in (None, "", [])


def str_arg(args: Args, name: str, default: str = "") -> str:
    value = args.get(name)
    return default if value is None else str(value)


def bool_arg(args: Args, name: str, default: bool = False) -> bool:
    value = args.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("true", "1", "yes")


def int_arg(args: Args, name: str, default: int, error: str = "invalid_arguments") -> int:
    value = args.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise SlackError(error) from None


def json_arg(args: Args, name: str, error: str) -> Any:
    """Form-encoded callers send JSON as a string; JSON callers send the object itself."""
    value = args.get(name)
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise SlackError(error) from None


def list_arg(args: Args, name: str) -> list[str]:
    """Comma-separated ids (form) or a JSON list."""
    value = args.get(name)
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [v.strip() for v in str(value).split(",") if v.strip()]
