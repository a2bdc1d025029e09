"""What the listeners, and Bolt itself, take for granted in a request body: the fields
Slack always sends, with their types. Checked once, on a signed body, before Bolt's
dispatch; a body without them (a bug, a proxy, a hand-edited replay) is answered 400
saying which field is wrong, instead of crashing a listener or Bolt (a 500)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from bot.slack.ids import EVENT_CALLBACK, URL_VERIFICATION, Payload

Path = tuple[str | int, ...]
Typed = tuple[Path, type]  # a field, by its path in the body, and the type it must have

_USER: Typed = (("user", "id"), str)
_TRIGGER: Typed = (("trigger_id",), str)
_VIEW: list[Typed] = [(("view",), dict), (("view", "callback_id"), str), (("view", "type"), str)]

# The fields each kind of body must have.
REQUIRED: dict[str, list[Typed]] = {
    Payload.BLOCK_ACTIONS: [
        _USER,
        _TRIGGER,
        (("actions",), list),
        (("actions", 0), dict),
        (("actions", 0, "action_id"), str),
    ],
    Payload.VIEW_SUBMISSION: [_USER, *_VIEW],
    Payload.VIEW_CLOSED: [_USER, *_VIEW],
    Payload.SHORTCUT: [_USER, _TRIGGER, (("callback_id",), str)],
    Payload.MESSAGE_ACTION: [
        _USER,
        _TRIGGER,
        (("callback_id",), str),
        (("channel",), dict),
        (("channel", "id"), str),
        (("message",), dict),
        (("message", "ts"), str),
    ],
    EVENT_CALLBACK: [(("event",), dict), (("event", "type"), str), (("event_id",), str)],
    URL_VERIFICATION: [(("challenge",), str)],
}
# A slash command (form fields: strings, possibly empty).
COMMAND: list[Typed] = [
    (("command",), str),
    (("user_id",), str),
    (("trigger_id",), str),
    (("response_url",), str),
]

# Fields that may be absent or null, but nothing else. Bolt reads the ids first (the
# per-request client carries the team's), the listeners the rest.
OPTIONAL: list[Typed] = [
    (("api_app_id",), str),
    (("team",), dict),
    (("team", "id"), str),
    (("team_id",), str),
    (("user", "team_id"), str),
    (("enterprise",), dict),
    (("enterprise", "id"), str),
    (("enterprise_id",), str),
    (("channel",), dict),
    (("channel", "id"), str),
    (("response_url",), str),
    (("container",), dict),
    (("message",), dict),
    (("text",), str),
    (("channel_id",), str),
    (("view", "id"), str),
    (("view", "private_metadata"), str),
    (("view", "state"), dict),
    (("view", "state", "values"), dict),
    (("view", "blocks"), list),
    (("message", "ts"), str),
    (("message_ts",), str),
    (("container", "message_ts"), str),
    (("actions", 0, "value"), str),
    (("response_urls",), list),
    (("event", "message"), dict),
    (("event", "previous_message"), dict),
]
# Non-empty as well: who asked, and which modal (a view id is a declaration's key).
NOT_EMPTY = {("user", "id"), ("user_id",), ("view", "id"), ("trigger_id",)}

# Message timestamps, when present: digits, a dot, digits.
TIMESTAMPS: list[Path] = [("message", "ts"), ("message_ts",), ("container", "message_ts")]
TS = re.compile(r"[0-9]+\.[0-9]+")

_ABSENT = object()


def _at(body: Any, path: Path) -> Any:
    for key in path:
        if isinstance(key, int):
            if not isinstance(body, list) or len(body) <= key:
                return _ABSENT
        elif not isinstance(body, dict) or key not in body:
            return _ABSENT
        body = body[key]
    return body


def _name(path: Path) -> str:
    return ".".join(str(k) for k in path)


def malformed(body: Any) -> str | None:
    """Why a request body cannot be handled (which field is missing or of what wrong
    type), or None when it has every field the bot relies on."""
    if not isinstance(body, dict):
        return "the body is not a JSON object"
    if body.get("ssl_check") == "1":  # Slack checking the certificate: Bolt answers it
        return None
    kind = body.get("type")
    if body.get("command") is not None or "user_id" in body:
        required = COMMAND
    elif isinstance(kind, str):
        required = REQUIRED.get(kind, [])
    else:
        return "`type` is missing or not a string"
    for path, expected in required:
        value = _at(body, path)
        if value is _ABSENT or value is None:
            return f"`{_name(path)}` is missing"
        if not isinstance(value, expected):
            return f"`{_name(path)}` is not a {expected.__name__}"
    for path, expected in OPTIONAL:
        value = _at(body, path)
        if value is not _ABSENT and value is not None and not isinstance(value, expected):
            return f"`{_name(path)}` is not a {expected.__name__}"
    for path in NOT_EMPTY:
        if _at(body, path) == "":
            return f"`{_name(path)}` is empty"
    for path in TIMESTAMPS:
        ts = _at(body, path)
        if isinstance(ts, str) and not TS.fullmatch(ts):
            return f"`{_name(path)}` is not a Slack timestamp (e.g. 1773480700.000100)"
    url = body.get("response_url")
    if isinstance(url, str) and not _is_url(url):
        return "`response_url` is not an http(s) URL"
    return None


def _is_url(text: str) -> bool:
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)
