"""The crash plan of tests/test_crash_points.py: where in each scripted incident a crash
may go (slots), the points drawn for a seed, and the Slack calls that mark them."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from tests.harness import ROOT

FAST = ROOT / "tests/policies/fast.yaml"
MANIFEST = ROOT / "manifest.yml"
DEFAULT_SEED = 33  # its plan reaches every failure class found so far (see the report)
KILLS = 24
INCIDENTS = 3
# The dead process's claimed rows come back after one second instead of 120.
BOT_ENV = {"INCIDENT_CLAIM_LEASE": "1"}
STEP_EVENT = "incident_bot"  # the metadata event_type naming the step that sent a message
NAG = "is due a status update"  # fast.yaml's nag template: "{commander} {number} is due..."
STEP_TIMEOUT = 30.0

# fast.yaml announces nowhere; here declarations go to #incidents too (set-up's last step).
ANNOUNCE = "#incidents"
_policy = yaml.safe_load(FAST.read_text())
LEVELS: list[tuple[str, list[str]]] = [
    (level["name"], [_policy["contacts"][t]["user"] for t in level["targets"]])
    for level in _policy["escalation"]["levels"]
]
PRIMARY, SECONDARY = 0, 1

Check = Callable[[], object]  # truthy when done; may return an awaitable
CallMatch = Callable[[str, dict[str, Any]], bool]
EventMatch = Callable[[dict[str, Any]], bool]


# --- the crash plan --------------------------------------------------------------------


MOMENT = "moment"
SETUP_CALLS = ("create", "invite", "topic", "announcement", "pin", "announce")


@dataclass(frozen=True)
class Slot:
    """Where in an incident's script a crash may go: after one of `variants` (Slack
    calls, or an event), or at a `moment` drawn from `within` seconds into its step."""

    name: str
    variants: tuple[str, ...] = (MOMENT,)
    within: tuple[float, float] = (0.0, 0.0)


SLOTS = (
    # While the command is acked and the channel set up (it all takes ~50 ms).
    Slot("declare", variants=(MOMENT, *SETUP_CALLS), within=(0.0, 0.04)),
    Slot("resume", variants=("set-up call 1", "set-up call 2", "set-up call 3")),
    Slot("primary", variants=("invite", "post", "dm")),
    Slot("nag1", variants=("post", "dm")),
    Slot("secondary", variants=("invite", "post", "dm")),
    Slot("nag2", within=(0.0, 3.0)),
    Slot("message", variants=("event",)),  # a person's message in the channel
    # A change by button (the update modal) or command, while it is committed and acked
    # (a moment) or once the worker posted it.
    Slot("update", variants=(MOMENT, "post"), within=(0.0, 0.03)),
    Slot("nag3", variants=("post", "dm")),
    Slot("nag4", within=(0.0, 3.0)),
    Slot("ack", within=(0.0, 0.03)),
    Slot("resolve", variants=(MOMENT, "post"), within=(0.0, 0.03)),
    Slot("resolved", within=(0.0, 0.5)),
)
# Besides every declaration, each incident crashes in one change (by button or command).
CHANGES = ("update", "ack", "resolve")


@dataclass(frozen=True)
class Planned:
    incident: int  # 0-based: which scripted incident
    slot: str
    variant: str
    after: float | None = None  # a moment

    def __str__(self) -> str:
        what = f"+{self.after:.3f}s" if self.variant == MOMENT else f"after {self.variant}"
        return f"#{self.incident + 1} {self.slot} {what}"


def crash_plan(rng: random.Random) -> dict[tuple[int, str], Planned]:
    """KILLS crash points: every declaration, the rest drawn among the other slots."""

    def draw(incident: int, slot: Slot) -> Planned:
        if slot.name == "declare":  # half at a moment, half after one set-up call
            variant = MOMENT if rng.random() < 0.5 else rng.choice(SETUP_CALLS)
        else:
            variant = rng.choice(slot.variants)
        if variant != MOMENT:
            return Planned(incident, slot.name, variant)
        low, high = slot.within
        if slot.name == "declare" and rng.random() < 0.25:
            low, high = 0.04, 0.8  # now and then a little later: the first page firing
        return Planned(incident, slot.name, variant, after=round(rng.uniform(low, high), 3))

    forced = [
        (i, s)
        for i in range(INCIDENTS)
        for s in SLOTS
        if s.name == "declare" or s.name == CHANGES[i % len(CHANGES)]
    ]
    others = [(i, s) for i in range(INCIDENTS) for s in SLOTS if (i, s) not in forced]
    chosen = forced + rng.sample(others, KILLS - len(forced))
    chosen.sort(key=lambda p: (p[0], SLOTS.index(p[1])))
    return {(i, s.name): draw(i, s) for i, s in chosen}


@dataclass
class Kill:
    """A crash point made concrete for the incident at hand."""

    label: str
    after: float | None = None  # a moment: seconds after it was armed
    call: CallMatch | None = None  # right after the fake Slack accepted such a call
    event: EventMatch | None = None  # right after the bot acked such an event
    then: list[Kill] = field(default_factory=list)  # armed when this one fires
    armed_at: float = 0.0


@dataclass
class Inc:
    """What the script knows of the incident it is driving."""

    title: str
    commander: str
    id: int = 0
    channel: str = ""

    @property
    def number(self) -> str:
        return f"INC-{self.id}"


# Incidents run one at a time, each settled before the next: a page or a reminder sent
# while one runs is that incident's.


def _users(args: dict[str, Any]) -> list[str]:
    users = args.get("users", "")
    return [str(u) for u in users] if isinstance(users, list) else str(users).split(",")


def _text(args: dict[str, Any]) -> str:
    return str(args.get("text", ""))


def setup_call(variant: str, inc: Inc) -> CallMatch:
    def match(method: str, args: dict[str, Any]) -> bool:
        if variant == "create":
            return method == "conversations.create"
        if variant == "invite":
            return method == "conversations.invite" and inc.commander in _users(args)
        if variant == "topic":
            return method == "conversations.setTopic"
        if variant == "announcement":  # the one pinned in the incident channel
            return method == "chat.postMessage" and f"SEV1 {inc.title}" in _text(args)
        if variant == "announce":
            said = _text(args)
            return method == "chat.postMessage" and "declared" in said and inc.title in said
        if variant == "list":  # looking for a channel created before a crash
            return method == "conversations.list"
        return method == "pins.add"

    return match


def nth_setup_call(n: int, inc: Inc) -> CallMatch:
    """The n-th set-up call from now on (after a crash: of the set-up being resumed)."""
    matches = [setup_call(v, inc) for v in (*SETUP_CALLS, "list")]
    seen = 0

    def match(method: str, args: dict[str, Any]) -> bool:
        nonlocal seen
        if any(m(method, args) for m in matches):
            seen += 1
        return seen == n

    return match


def page_call(variant: str, level: int) -> CallMatch:
    name, users = LEVELS[level]

    def match(method: str, args: dict[str, Any]) -> bool:
        if variant == "invite":
            return method == "conversations.invite" and users[0] in _users(args)
        if method != "chat.postMessage":
            return False
        said = _text(args)
        if variant == "post":
            return said.startswith("Escalating INC-") and said.endswith(f" to {name}")
        return args.get("channel") == users[0] and f"*{name}*" in said

    return match


def post_call(inc: Inc, says: str) -> CallMatch:
    """The worker's post of a change in the incident channel."""

    def match(method: str, args: dict[str, Any]) -> bool:
        return (
            method == "chat.postMessage"
            and args.get("channel") == inc.channel
            and says in _text(args)
        )

    return match


def nag_call(variant: str, inc: Inc) -> CallMatch:
    def match(method: str, args: dict[str, Any]) -> bool:
        if method != "chat.postMessage" or NAG not in _text(args):
            return False
        where = str(args.get("channel"))
        return where == inc.commander if variant == "dm" else where.startswith("C")

    return match
