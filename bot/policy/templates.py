"""Message templates: text with ``{placeholder}`` fields from a fixed list.

Only ``{name}`` is a field; ``{{`` and ``}}`` are literal braces. Attribute access,
indexing, conversions and format specs (``{title.__class__}``, ``{x[0]}``, ``{x!r}``,
``{x:>9}``) are rejected by validation and never evaluated by :func:`render`, which is
plain text substitution, not ``str.format``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

__all__ = [
    "CHANNEL_PLACEHOLDERS",
    "DEFAULT_TEMPLATES",
    "PLACEHOLDERS",
    "ROLE_PREFIX",
    "TemplateProblem",
    "field_lines",
    "render",
    "template_fields",
    "template_problems",
]

#: Every placeholder a template may use, and what the bot puts there. Times are shown
#: in the policy's time zone; people are Slack mentions. A value the bot does not have
#: (no update yet, not resolved yet) renders as "-".
PLACEHOLDERS: dict[str, str] = {
    "company": "the policy's name (the organisation)",
    "title": "the incident title",
    "number": "the incident number, e.g. INC-42",
    "severity": "the severity name, e.g. P1",
    "severity_label": "the severity label, e.g. Critical - Production Down",
    "impact": "the severity's impact statement",
    "response_time": "the severity's response time, e.g. 15m",
    "update_every": "the severity's update cadence, e.g. 30m, or 'as needed'",
    "resolve_within": "the severity's resolution target, e.g. 4h",
    "checklist": "the severity's immediate actions, one per line",
    "status": "the current status, e.g. investigating",
    "commander": "mention of the incident commander",
    "declared_by": "mention of who declared the incident",
    "roles": "every assigned role, one 'Role: @person' per line",
    "participants": "mentions of everyone who took part",
    "started_at": "when the incident was declared",
    "date": "the day the incident was declared (YYYY-MM-DD)",
    "now": "the time the message is posted",
    "next_update_at": "when the next update is due",
    "last_update_at": "when the last update was posted",
    "resolved_at": "when the incident was resolved",
    "duration": "how long the incident lasted (or has lasted so far), e.g. 1h25m",
    "channel": "the incident channel, as a channel link",
    "url": "a link to the incident channel",
    "status_url": "the public status page address, if the bot knows it",
    "components": "the status-page components marked as affected",
    "update": "the text of the update being posted",
    "update_number": "the sequence number of this update (1, 2, ...)",
    "summary": "the resolution summary given with /incident resolve",
    "reason": "why an escalation happened (declared, unresolved after 1h, no ack, ...)",
    "level": "the name of the escalation level being paged",
    "targets": "mentions of the people, groups or channels being paged",
    "timeline": "the incident timeline, one entry per line",
}

#: ``{role_<name>}`` is also a placeholder for each role the policy declares, e.g.
#: ``{role_tech_lead}``: a mention of whoever holds that role, or "-".
ROLE_PREFIX = "role_"

#: Placeholders of ``channel.pattern`` (the incident channel name).
CHANNEL_PLACEHOLDERS: dict[str, str] = {
    "date": "the declaration date in the policy's time zone, YYYYMMDD",
    "date_dashed": "the same date as YYYY-MM-DD",
    "time": "the declaration time, HHmm",
    "slug": "the title made channel-safe: lowercase a-z, 0-9, - and _",
    "number": "the incident number, digits only (42)",
    "severity": "the severity name, lowercased",
}

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_NAME = re.compile(r"[a-z_][a-z0-9_]*")
_MISSING = "-"


@dataclass(frozen=True)
class TemplateProblem:
    """One problem in a template; ``line`` counts from 0 within the template text."""

    line: int
    message: str


def _tokens(text: str) -> list[tuple[int, int, str, str | None]]:
    """(start, end, raw, field) for every brace construct; field is None for non-fields."""
    out: list[tuple[int, int, str, str | None]] = []
    for match in _TOKEN.finditer(text):
        raw = match.group(0)
        out.append((match.start(), match.end(), raw, match.group(1)))
    return out


def template_fields(text: str) -> set[str]:
    """The names used as ``{name}`` fields (well-formed ones, known or not)."""
    return {name for _, name in field_lines(text)}


def field_lines(text: str) -> list[tuple[int, str]]:
    """(line within ``text``, counting from 0; name) of every well-formed ``{name}`` field."""
    return [
        (text.count("\n", 0, start), name)
        for start, _, _, name in _tokens(text)
        if name is not None and _NAME.fullmatch(name)
    ]


def template_problems(
    text: str,
    allowed: Collection[str] = PLACEHOLDERS,
    *,
    roles: bool = True,
) -> list[TemplateProblem]:
    """Everything wrong with ``text`` as a template whose fields must be in ``allowed``
    (plus ``{role_<name>}`` when ``roles``; whether the role exists is checked elsewhere)."""
    problems: list[TemplateProblem] = []
    for start, _, raw, name in _tokens(text):
        line = text.count("\n", 0, start)
        if raw in ("{{", "}}"):
            continue
        if name is None:
            problems.append(
                TemplateProblem(line, f'a lone "{raw}"; write "{raw}{raw}" for a literal brace')
            )
        elif not _NAME.fullmatch(name):
            problems.append(
                TemplateProblem(
                    line,
                    f"{raw} is not a placeholder: write a plain {{name}} (lowercase, no "
                    "attribute access, indexing or formatting); write {{ and }} for braces",
                )
            )
        elif name not in allowed and not (roles and name.startswith(ROLE_PREFIX)):
            close = (
                difflib.get_close_matches(name, list(allowed), n=1)
                or sorted((p for p in allowed if p in name), key=len, reverse=True)[:1]
            )
            hint = (
                f"; did you mean {{{close[0]}}}?"
                if close
                else "; use one of " + ", ".join(f"{{{p}}}" for p in allowed)
            )
            problems.append(TemplateProblem(line, f"unknown placeholder {raw}{hint}"))
    return problems


def render(text: str, values: Mapping[str, str], *, missing: str = _MISSING) -> str:
    """Substitute ``{name}`` for names in :data:`PLACEHOLDERS` (or ``role_*``).

    Never raises and never evaluates anything: a value not in ``values`` becomes
    ``missing``; anything that is not a valid field is left as written.
    """
    out: list[str] = []
    pos = 0
    for start, end, raw, name in _tokens(text):
        out.append(text[pos:start])
        pos = end
        if raw == "{{":
            out.append("{")
        elif raw == "}}":
            out.append("}")
        elif name is not None and (name in PLACEHOLDERS or _is_role_field(name)):
            value = values.get(name)
            out.append(missing if value is None or value == "" else str(value))
        else:
            out.append(raw)
    out.append(text[pos:])
    return "".join(out)


def _is_role_field(name: str) -> bool:
    return name.startswith(ROLE_PREFIX) and _NAME.fullmatch(name) is not None


#: Used for the templates a policy leaves out (``announcement`` has no default).
DEFAULT_TEMPLATES: dict[str, str] = {
    "topic": "{severity} {title} | Commander: {commander}",
    "update": (
        ":bar_chart: *Update {update_number}: {number} {title}*\n"
        "*Status:* {status}\n"
        "{update}\n"
        "*Next update:* {next_update_at}"
    ),
    "resolution": (
        ":white_check_mark: *Resolved: {number} {title}*\n"
        "*Duration:* {duration}\n"
        "*Summary:* {summary}"
    ),
    "customer_update": "*{status}* - {title}\n{update}",
    "customer_resolution": "*Resolved* - {title}\n{summary}",
    "postmortem": (
        "# Postmortem: {title} ({number})\n\n"
        "*Severity:* {severity} - {severity_label}\n"
        "*Started:* {started_at}\n*Resolved:* {resolved_at}\n*Duration:* {duration}\n"
        "*Commander:* {commander}\n*Participants:* {participants}\n\n"
        "## Summary\n{summary}\n\n## Timeline\n{timeline}\n\n"
        "## Root cause\n_to fill in_\n\n## Action items\n_to fill in_"
    ),
    "nag": (
        "{commander}, {number} {title} is due a status update (every {update_every}). "
        "Post one with `/incident update`."
    ),
    "escalation": (
        ":rotating_light: Escalating {number} {title} ({severity}) to *{level}*: {targets}\n"
        "*Why:* {reason}\n*Channel:* {channel}"
    ),
}
