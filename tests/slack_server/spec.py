"""Method definitions (copied from slack-ruby/slack-api-ref) and the checks derived from them."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .errors import Args, SlackError, invalid, present

METHODS_DIR = Path(__file__).parent / "methods"

# Slack rarely answers `missing_argument`; each method reports a missing argument with its
# own, more specific code. Looked up by (method, arg), then by arg, else `invalid_arguments`.
MISSING_ARG_ERRORS: dict[tuple[str, str], str] = {
    ("conversations.create", "name"): "invalid_name_required",
    ("conversations.invite", "users"): "no_user",
    ("pins.add", "timestamp"): "no_item_specified",
    ("reactions.add", "timestamp"): "no_item_specified",
    ("users.info", "user"): "user_not_found",
    ("usergroups.users.list", "usergroup"): "no_such_subteam",
    ("usergroups.users.update", "usergroup"): "no_such_subteam",
    ("usergroups.users.update", "users"): "no_users_provided",
    ("chat.getPermalink", "message_ts"): "message_not_found",
    ("chat.update", "ts"): "message_not_found",
}
MISSING_ARG_ERRORS_ANY_METHOD: dict[str, str] = {
    "channel": "channel_not_found",
    "channel_id": "channel_not_found",
}
# Methods that need at least one of several arguments, and the code for "none given".
ONE_OF_REQUIRED: dict[str, tuple[tuple[str, ...], str]] = {
    "chat.postMessage": (("text", "blocks", "attachments"), "no_text"),
    "chat.postEphemeral": (("text", "blocks", "attachments"), "no_text"),
    "chat.update": (("text", "blocks", "attachments", "file_ids"), "no_text"),
    "conversations.open": (("users", "channel"), "users_list_not_supplied"),
}


@dataclass(frozen=True)
class MethodSpec:
    name: str
    required: tuple[str, ...]
    scopes: tuple[str, ...]  # any one suffices; empty: no scope needed
    rate_tier: str | None


@functools.cache
def load_spec(method: str) -> MethodSpec | None:
    path = METHODS_DIR / f"{method}.json"
    if "/" in method or not path.is_file():
        return None
    data = json.loads(path.read_text())
    required = tuple(a for a in data["args"].get("required", []) if a != "token")
    scopes = tuple((data.get("scope") or {}).get("bot") or ())
    return MethodSpec(method, required, scopes, data.get("rate_limits"))


def check_scopes(spec: MethodSpec, granted: Iterable[str]) -> None:
    granted = list(granted)
    if spec.scopes and not set(spec.scopes) & set(granted):
        raise SlackError("missing_scope", needed=",".join(spec.scopes), provided=",".join(granted))


def check_required(spec: MethodSpec, args: Args) -> None:
    for arg in spec.required:
        if present(args, arg):
            continue
        error = MISSING_ARG_ERRORS.get((spec.name, arg)) or MISSING_ARG_ERRORS_ANY_METHOD.get(arg)
        if error:
            raise SlackError(error)
        raise invalid("invalid_arguments", [f"[ERROR] missing required field: {arg}"])
    if spec.name in ONE_OF_REQUIRED:
        names, error = ONE_OF_REQUIRED[spec.name]
        if not any(present(args, n) for n in names):
            raise SlackError(error)
