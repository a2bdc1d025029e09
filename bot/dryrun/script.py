"""A simulation script: a realistic incident as a list of things people do at given
offsets (acknowledge, post an update, change status or severity, assign a role,
escalate, snooze, resolve), checked against the policy before anything is played.

    severity: P1
    title: Checkout down
    run_for: 2h            # optional: default one hour after the last event
    events:
      - {at: 3m, ack: oncall}                  # who: a policy contact key, or commander
      - {at: 10m, update: DB pool exhausted, status: identified}
      - {at: 20m, severity: P2}
      - {at: 25m, role: tech_lead, user: platform_lead}
      - {at: 30m, escalate: CEO / Executive Team, reason: legal}   # escalate: null = next
      - {at: 40m, snooze: 30m}
      - {at: 50m, resolve: Rolled back the deploy}

Every mistake is reported with the file, the line and the field (PolicyError)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.policy.durations import parse_duration
from bot.policy.errors import FieldPath, PolicyError, PolicyInvalid, format_path
from bot.policy.model import Policy
from bot.policy.yaml_source import YamlDocument, load_yaml

COMMANDER_KEY = "commander"
# A schedule contact's key, so marked: whoever is on call there when the event happens.
ON_CALL = "schedule:"
PEOPLE = ("user", "usergroup", "schedule")  # contact kinds a person may be given as
ACTIONS = ("ack", "update", "status", "severity", "role", "escalate", "snooze", "resolve")
# The keys an event may have besides `at`, its action and `by` (who does it).
EXTRA = {"update": {"status"}, "role": {"user"}, "escalate": {"reason"}}


@dataclass(frozen=True)
class Step:
    """One thing a person does at `at` (from the declaration)."""

    at: timedelta
    action: str  # one of ACTIONS
    by: str  # a Slack user id, the commander's key (COMMANDER_KEY), or ON_CALL + a key
    value: str | None = None  # text, status, severity, role, level, snooze duration
    status: str | None = None  # update: the new status, if any
    user: str | None = None  # role: who gets it
    reason: str | None = None  # escalate
    line: int | None = None


@dataclass(frozen=True)
class Script:
    file: str
    severity: str | None
    title: str | None
    run_for: timedelta | None
    steps: tuple[Step, ...]


class _Reader:
    def __init__(self, doc: YamlDocument, policy: Policy) -> None:
        self.doc = doc
        self.policy = policy
        self.errors: list[PolicyError] = []

    def fail(self, path: FieldPath, message: str) -> None:
        self.errors.append(
            PolicyError(self.doc.file, self.doc.line_of(path), format_path(path), message)
        )

    def duration(self, path: FieldPath, value: object) -> timedelta | None:
        try:
            return parse_duration(str(value))
        except ValueError as e:
            self.fail(path, str(e))
            return None

    def person(self, path: FieldPath, value: object) -> str | None:
        """A contact key (a user, a user group standing for its members, a schedule: who is
        on call then) or commander."""
        key = str(value)
        if key == COMMANDER_KEY:
            return COMMANDER_KEY
        contact = self.policy.contacts.get(key)
        if contact is not None and contact.kind == "schedule":
            return ON_CALL + key
        if contact is not None and contact.kind in PEOPLE:
            return contact.ref
        people = [k for k, c in self.policy.contacts.items() if c.kind in PEOPLE]
        why = "is not a person the policy knows"
        if contact is not None:
            why = f"is a {contact.kind}, not a person"
        self.fail(path, f'"{key}" {why}; write {COMMANDER_KEY} or one of: {", ".join(people)}')
        return None

    def text(self, path: FieldPath, value: object) -> str | None:
        if not isinstance(value, str | int | float) or not str(value).strip():
            self.fail(path, "needs text")
            return None
        return str(value)

    def named(self, path: FieldPath, value: object, kind: str) -> str | None:
        word = str(value)
        found: str | None
        if kind == "severity":
            sev = self.policy.severity(word)
            found, names = (sev.name if sev else None), self.policy.severity_names()
        elif kind == "status":
            found, names = self.policy.status(word), list(self.policy.statuses.values)
        elif kind == "role":
            found, names = self.policy.role(word), list(self.policy.roles)
        else:
            index = self.policy.escalation.level_index(word)
            levels = self.policy.escalation.levels
            found = levels[index].name if index is not None else None
            names = [lv.name for lv in levels]
        if found is None:
            self.fail(path, f'unknown {kind} "{word}"; the policy has: {", ".join(names)}')
        return found

    def step(self, i: int, event: object) -> Step | None:
        base: FieldPath = ("events", i)
        if not isinstance(event, dict):
            self.fail(base, "an event is a mapping: {at: 5m, ack: oncall}")
            return None
        at = self.duration((*base, "at"), event["at"]) if "at" in event else None
        if "at" not in event:
            self.fail(base, "an event needs `at`, the offset from the declaration (e.g. 5m)")
        found = [a for a in ACTIONS if a in event]
        if "update" in found and "status" in found:
            found.remove("status")  # the update's new status
        if len(found) != 1:
            what = f"found {', '.join(found)}" if found else "found none"
            self.fail(base, f"an event does exactly one of {', '.join(ACTIONS)} ({what})")
            return None
        action = found[0]
        allowed = {"at", "by", action, *EXTRA.get(action, set())}
        for key in event:
            if key not in allowed:
                self.fail(
                    (*base, str(key)),
                    f'unknown field "{key}" for {action}; allowed: {", ".join(sorted(allowed))}',
                )
        path: FieldPath = (*base, action)
        raw = event[action]
        by = self.person((*base, "by"), event["by"]) if "by" in event else COMMANDER_KEY
        value = status = user = reason = None
        if action == "ack":  # the value is who acknowledges
            by = self.person(path, raw)
        elif action in ("update", "resolve"):
            value = self.text(path, raw)
            if "status" in event:
                status = self.named((*base, "status"), event["status"], "status")
        elif action in ("status", "severity", "role"):
            value = self.named(path, raw, action)
            if action == "role" and "user" not in event:
                self.fail(base, "a role event needs `user`, who gets the role")
            elif action == "role":
                user = self.person((*base, "user"), event["user"])
        elif action == "escalate":  # null: the next level
            value = self.named(path, raw, "level") if raw is not None else None
            reason = str(event["reason"]) if event.get("reason") else None
        elif self.duration(path, raw) is not None:  # snooze
            value = str(raw)
        line = self.doc.line_of(base)
        return Step(
            at or timedelta(0), action, by or COMMANDER_KEY, value, status, user, reason, line
        )


def load_script(path: str | Path, policy: Policy) -> Script:
    """Read and check a script; PolicyInvalid (file, line, field) on any mistake."""
    file = str(path)
    doc = load_yaml(Path(path).read_text(encoding="utf-8"), file)
    r = _Reader(doc, policy)
    data: Any = doc.data
    if not isinstance(data, dict):
        raise PolicyInvalid([PolicyError(file, 1, "", "a script is a mapping with `events`")])
    for key in data:
        if key not in ("severity", "title", "run_for", "events"):
            r.fail((str(key),), f'unknown field "{key}"; allowed: severity, title, run_for, events')
    severity = r.named(("severity",), data["severity"], "severity") if "severity" in data else None
    run_for = r.duration(("run_for",), data["run_for"]) if "run_for" in data else None
    events = data.get("events")
    steps: list[Step] = []
    if not isinstance(events, list) or not events:
        r.fail(("events",), "list what people do: events: [{at: 5m, ack: oncall}, ...]")
    else:
        steps = [s for i, e in enumerate(events) if (s := r.step(i, e)) is not None]
    if r.errors:
        raise PolicyInvalid(r.errors)
    title = str(data["title"]) if data.get("title") else None
    return Script(file, severity, title, run_for, tuple(sorted(steps, key=lambda s: s.at)))
