"""The policy's field types and validation helpers: every problem is raised with a
message that says what would work, and every model is frozen and forbids unknown keys."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from datetime import timedelta
from typing import Annotated, Any, Literal, NoReturn

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    ValidationError,
    WithJsonSchema,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from .durations import DURATION_PATTERN, format_duration, parse_duration
from .errors import FieldPath
from .templates import (
    PLACEHOLDERS,
    template_problems,
)


def problem(message: str, **ctx: Any) -> PydanticCustomError:
    """A validation error whose message is exactly ``message``."""
    return PydanticCustomError("policy", "{message}", {"message": message, **ctx})


#: (path relative to the value being validated, message[, line within a template]).
Found = tuple[FieldPath, str] | tuple[FieldPath, str, int]


def fail(problems: Iterable[Found], value: object) -> NoReturn:
    """Raise every problem at once; pydantic prefixes the paths with the value's own."""
    details: list[InitErrorDetails] = []
    for found in problems:
        ctx = {"line_offset": found[2]} if len(found) == 3 else {}
        details.append(InitErrorDetails(type=problem(found[1], **ctx), loc=found[0], input=value))
    raise ValidationError.from_exception_data("Policy", details)


def normalize(name: str) -> str:
    """Severity-name key: ``SEV-1``, ``sev1``, ``Sev 1`` and ``sev_1`` are all ``sev1``."""
    return re.sub(r"[\s_-]+", "", name).lower()


def quoted(value: object) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def _matching(pattern: str, what: str) -> AfterValidator:
    regex = re.compile(pattern)

    def check(value: str) -> str:
        if not regex.fullmatch(value):
            raise problem(f"{quoted(value)} is not {what}")
        return value

    return AfterValidator(check)


def _not_blank(value: str) -> str:
    if not value.strip():
        raise problem("must not be empty")
    return value


def _to_duration(value: object) -> object:
    if isinstance(value, timedelta):
        return value
    try:
        return parse_duration(value)  # type: ignore[arg-type]  # non-str is rejected there
    except ValueError as exc:
        raise problem(str(exc)) from None


def _to_maybe_duration(value: object) -> object:
    if value is None or isinstance(value, timedelta):
        return value
    try:
        return parse_duration(value)  # type: ignore[arg-type]  # non-str is rejected there
    except ValueError as exc:
        text = str(exc)
        if "is not a duration" in text:  # not for "is zero": null would not be meant
            text += ", or null for none"
        raise problem(text) from None


def _dump_maybe(value: timedelta | None) -> str | None:
    return None if value is None else format_duration(value)


_DURATION_SCHEMA = {"type": "string", "pattern": DURATION_PATTERN, "examples": ["15m", "1h30m"]}

Duration = Annotated[
    timedelta,
    BeforeValidator(_to_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(_DURATION_SCHEMA),
]
MaybeDuration = Annotated[
    timedelta | None,
    BeforeValidator(_to_maybe_duration),
    PlainSerializer(_dump_maybe, return_type=str | None),
    WithJsonSchema({"anyOf": [_DURATION_SCHEMA, {"type": "null"}]}),
]


RESPONSE_TIME = "response_time"


def _to_ack_wait(value: object) -> object:
    return value if value == RESPONSE_TIME else _to_maybe_duration(value)


def _dump_ack_wait(value: timedelta | str | None) -> str | None:
    return value if isinstance(value, str) else _dump_maybe(value)


# A level's wait for the previous level's acknowledgement: a duration, or the word
# `response_time` (the severity's own response target), or null.
AckWait = Annotated[
    timedelta | Literal["response_time"] | None,
    BeforeValidator(_to_ack_wait),
    PlainSerializer(_dump_ack_wait, return_type=str | None),
    WithJsonSchema({"anyOf": [_DURATION_SCHEMA, {"const": RESPONSE_TIME}, {"type": "null"}]}),
]


def _template_text(value: object) -> object:
    if isinstance(value, dict):
        raise problem('expected text; quote a template that starts with "{", e.g. "{title}"')
    return value


def check_template(allowed: Collection[str], roles: bool) -> AfterValidator:
    def check(value: str) -> str:
        found = template_problems(value, allowed, roles=roles)
        if found:
            fail([((), p.message, p.line) for p in found], value)
        return value

    return AfterValidator(check)


Text = Annotated[str, AfterValidator(_not_blank)]
Template = Annotated[str, BeforeValidator(_template_text), check_template(PLACEHOLDERS, roles=True)]
SeverityName = Annotated[
    str,
    _matching(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}", "a severity name (letters, digits, - _ .)"),
]
Key = Annotated[
    str, _matching(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", "a key (letters, digits, - and _)")
]
RoleName = Annotated[
    str, _matching(r"[a-z][a-z0-9_]{0,31}", "a role name (lowercase letters, digits, _)")
]
StatusName = Annotated[
    str, _matching(r"[A-Za-z][A-Za-z0-9_-]{0,31}", "a status (one word: letters, digits, - _)")
]
ChannelRef = Annotated[
    str,
    _matching(
        r"#[a-z0-9_-]{1,80}|[CG][A-Z0-9]{2,}",
        "a channel: write #name or a channel ID such as C0123ABCD",
    ),
]


UserId = Annotated[
    str, _matching(r"[UW][A-Z0-9]{2,}", "a Slack member ID (U0123ABCD: profile > Copy member ID)")
]
UsergroupId = Annotated[str, _matching(r"S[A-Z0-9]{2,}", "a Slack user group ID (S0123ABCD)")]


class PolicyModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)
