"""Hostile input over HTTP: no unhandled exception, every rejection ephemeral.

Hypothesis drives the real bot (fake Slack, SQLite) running on a loop in a
background thread, so examples are plain synchronous calls.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.slack.ids import Action, Event, Field, View
from bot.store.tables import Incident
from tests.harness import ROOT, Bot, eventually, listeners_done, start_bot
from tests.helpers import add_test_team
from tests.slack_requests import Response
from tests.slack_server import FakeSlack

T = TypeVar("T")


class World:
    def __init__(self, tmp: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.slack, self.bot, self.alice, self.general = self.run(self._start(tmp))
        # An incident for the payloads about one (its buttons, modals, channel messages).
        self.incident_id, self.channel = self.run(self._declare())

    async def _start(self, tmp: Path) -> tuple[FakeSlack, Bot, str, str]:
        slack = FakeSlack.from_manifest(ROOT / "manifest.yml")
        await slack.start()
        alice, general = add_test_team(slack)
        bot = await start_bot(slack, f"sqlite+aiosqlite:///{tmp}/fuzz.db")
        return slack, bot, alice, general

    async def _declare(self) -> tuple[int, str]:
        await self.bot.send.command("SEV2 Checkout errors", user=self.alice, channel=self.general)

        async def set_up() -> Incident | None:
            found = await self.bot.services.store.find("INC-1")
            return found if found is not None and found.channel_id else None

        incident: Incident = await eventually(set_up)
        await listeners_done()
        return int(incident.id), str(incident.channel_id)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        fut: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return fut.result(timeout=30)

    def close(self) -> None:
        self.run(self.bot.stop())
        self.run(self.slack.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()  # else its self-pipe sockets are left to the garbage collector


class ErrorLog(logging.Handler):
    """Unhandled listener exceptions are logged by Bolt and by our error handler."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    w = World(tmp_path_factory.mktemp("fuzz"))
    yield w
    w.close()


@pytest.fixture
def errors() -> Iterator[ErrorLog]:
    handler = ErrorLog()
    logging.getLogger().addHandler(handler)
    yield handler
    logging.getLogger().removeHandler(handler)


VERBS = [
    "",
    "declare ",
    "update ",
    "status ",
    "severity ",
    "role ",
    "commander ",
    "note ",
    "resolve ",
    "escalate ",
    "ack",
    "list",
    "help",
    "timeline",
    "SEV1 ",
    "p2 ",
    "security ",
]
text = st.one_of(
    st.text(max_size=300),
    st.builds(lambda v, t: v + t, st.sampled_from(VERBS), st.text(max_size=120)),
    st.builds(
        lambda v, u: f"{v}<@{u}> x",
        st.sampled_from(["commander ", "role scribe "]),
        st.text(alphabet="UW0123456789ABC|<>@", max_size=15),
    ),
)
# Derandomized: every run replays the same examples, so a red CI run is a real bug and
# never a lucky draw. To explore further, run it locally with derandomize=False and more
# examples (a randomized run found the shortcut-metadata crash fixed with this).
FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@FUZZ
@given(text=text)
def test_any_command_text_gets_an_answer_never_a_crash(
    world: World, errors: ErrorLog, text: str
) -> None:
    # Outside an incident channel, so nothing but declarations can change anything.
    r: Response = world.run(world.bot.send.command(text, user=world.alice, channel=world.general))
    assert r.status == 200
    if r.body:
        body = r.json()
        assert body is not None, r.body
        assert body.get("response_type", "ephemeral") == "ephemeral"
        assert body.get("text")
    assert not errors.records, errors.records[0].getMessage()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=10), kids, max_size=4)
    ),
    max_leaves=12,
)
events = st.fixed_dictionaries(
    {"type": st.sampled_from(["message", "app_home_opened", "channel_left", "group_left"])},
    optional={
        "subtype": st.sampled_from(
            ["message_changed", "message_deleted", "bot_message", "file_share", "thread_broadcast"]
        )
        | st.text(max_size=8),
        "channel": st.text(max_size=12) | st.just("C00000001"),
        "user": st.text(max_size=12) | json_values,
        "text": st.text(max_size=50) | json_values,
        "ts": st.sampled_from(["1773480700.000100", "0", "abc", ""]) | json_values,
        "message": json_values,
        "previous_message": json_values,
        "deleted_ts": st.text(max_size=20),
        "files": json_values,
        "attachments": json_values,
        "tab": st.text(max_size=6),
    },
)


@FUZZ
@given(event=events)
def test_any_event_payload_is_answered_without_an_unhandled_exception(
    world: World, errors: ErrorLog, event: dict[str, Any]
) -> None:
    r = world.run(
        world.bot.send.event(event, event_id=f"Ev{abs(hash(json.dumps(event, default=str)))}")
    )
    # 400 for bodies Bolt cannot even parse (see bot/server.py); never a 5xx.
    assert r.status in (200, 400)
    world.run(asyncio.sleep(0.01))  # let the listener run
    assert not errors.records, errors.records[0].getMessage()


@FUZZ
@given(severity=json_values, title=json_values)
def test_any_declare_modal_submission_is_answered(
    world: World, errors: ErrorLog, severity: Any, title: Any
) -> None:
    values = {
        "severity": {"severity": {"type": "static_select", "selected_option": {"value": severity}}},
        "title": {"title": {"type": "plain_text_input", "value": title}},
    }
    r = world.run(world.bot.send.view_submission("declare_incident", values, user=world.alice))
    assert r.status == 200
    world.run(asyncio.sleep(0.01))
    assert not errors.records, errors.records[0].getMessage()


def test_a_body_bolt_cannot_parse_is_a_400_not_a_500(world: World, errors: ErrorLog) -> None:
    r = world.run(world.bot.send.event({"type": "message", "user": False}, event_id="EvBad"))
    assert r.status == 400


# -- every payload type, signed, with fields missing, null or of the wrong type ---------
#
# Each example starts from a payload shaped as Slack sends it (against a live incident, so
# the listeners get deep), then breaks one to three of its fields anywhere in the tree.
# Slack never sends these; a bug or a proxy might, and the bot must answer 2xx or 4xx.

Path_ = tuple[str | int, ...]


def _nodes(value: Any, at: Path_ = ()) -> list[Path_]:
    """The path of every field and list item in a JSON tree."""
    children: list[tuple[str | int, Any]] = []
    if isinstance(value, dict):
        children = list(value.items())
    elif isinstance(value, list):
        children = list(enumerate(value))
    found: list[Path_] = []
    for key, child in children:
        found.append((*at, key))
        found.extend(_nodes(child, (*at, key)))
    return found


def _parent(tree: Any, path: Path_) -> Any:
    for key in path:
        try:
            tree = tree[key]
        except (KeyError, IndexError, TypeError):
            return None
    return tree


@st.composite
def broken(draw: st.DrawFn, base: dict[str, Any], *, strings_only: bool = False) -> Any:
    """`base` with up to three fields removed, set to null or to a value of another type
    (form-encoded commands only carry strings: removed, emptied or junk)."""
    body = json.loads(json.dumps(base))
    paths = _nodes(body)
    for path in draw(st.lists(st.sampled_from(paths), min_size=1, max_size=3, unique=True)):
        parent, key = _parent(body, path[:-1]), path[-1]
        present = isinstance(parent, dict) and key in parent
        present |= isinstance(parent, list) and isinstance(key, int) and key < len(parent)
        if not present:  # an earlier change removed it
            continue
        how = draw(st.sampled_from(["missing", "null", "other"]))
        if how == "missing":
            del parent[key]
        elif strings_only:
            parent[key] = "" if how == "null" else draw(st.text(max_size=12))
        else:
            parent[key] = None if how == "null" else draw(json_values)
    return body


def _at_incident(world: World, kind: str) -> dict[str, Any]:
    """An interactivity payload about the world's incident, from its channel."""
    payload = world.bot.send._interaction(kind, world.alice)
    payload.update(
        channel={"id": world.channel, "name": "incident"},
        container={
            "type": "message",
            "message_ts": "1773480700.000100",
            "channel_id": world.channel,
        },
        message={"type": "message", "ts": "1773480700.000100", "text": "x", "user": world.alice},
        response_url=world.slack.new_response_url(),
    )
    return payload


def block_actions(world: World, action: Action) -> dict[str, Any]:
    payload = _at_incident(world, "block_actions")
    payload.update(
        state={"values": {}},
        actions=[
            {
                "action_id": action.value,
                "block_id": "incident_controls",
                "type": "button",
                "value": str(world.incident_id),
                "action_ts": "1773480700.000200",
            }
        ],
    )
    return payload


FIELDS: dict[View, dict[Field, str | None]] = {
    View.DECLARE: {Field.SEVERITY: "SEV2", Field.TITLE: "Checkout errors"},
    View.UPDATE: {Field.TEXT: "better", Field.STATUS: "monitoring", Field.PUBLISH: None},
    View.SEVERITY: {Field.SEVERITY: "SEV1"},
    View.RESOLVE: {Field.SUMMARY: "rolled back"},
    View.SNOOZE: {Field.DURATION: "15m"},
    View.ADD_TO_TIMELINE: {Field.INCIDENT: "1", Field.KEY_TEXT: "the deploy"},
}


def view_payload(world: World, kind: str, callback: View) -> dict[str, Any]:
    values = {
        f.value: {
            f.value: {"type": "plain_text_input", "value": v, "selected_option": {"value": v}}
        }
        for f, v in FIELDS[callback].items()
    }
    meta = (
        json.dumps({"channel": world.channel, "ts": "1773480700.000100"})
        if callback == View.ADD_TO_TIMELINE
        else str(world.incident_id)
    )
    payload = world.bot.send._interaction(kind, world.alice)
    payload.update(
        view={
            "id": world.slack.new_id("V"),
            "type": "modal",
            "callback_id": callback.value,
            "private_metadata": meta,
            "state": {"values": values},
            "blocks": [{"type": "input", "block_id": f.value} for f in FIELDS[callback]],
            "hash": "",
        },
        response_urls=[],
    )
    if kind == "view_closed":
        payload["is_cleared"] = False
    return payload


def shortcut(world: World, kind: str) -> dict[str, Any]:
    payload = (
        _at_incident(world, kind)
        if kind == "message_action"
        else (world.bot.send._interaction(kind, world.alice))
    )
    payload.update(callback_id="add_to_timeline", action_ts="1773480700.000300")
    if kind == "message_action":
        payload["message_ts"] = "1773480700.000100"
    return payload


def event_callback(world: World, event_type: Event, subtype: str | None) -> dict[str, Any]:
    event: dict[str, Any] = {"type": event_type.value, "channel": world.channel}
    if event_type == Event.MESSAGE:
        event.update(user=world.alice, text="rolled back", ts="1773480700.000400")
        if subtype is not None:
            event.update(
                subtype=subtype,
                message={"ts": "1773480700.000400", "text": "edited", "user": world.alice},
                previous_message={"ts": "1773480700.000400", "text": "rolled back"},
                deleted_ts="1773480700.000400",
            )
    elif event_type == Event.APP_HOME_OPENED:
        event.update(user=world.alice, tab="home")
    else:
        event.update(actor_id=world.alice)
    return world.bot.send.event_callback(event)


def _signed_json(world: World, body: Any) -> Coroutine[Any, Any, Response]:
    raw = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **world.bot.send._signed(raw)}
    return world.bot.send.raw(raw, headers)


def _signed_payload(world: World, payload: Any) -> Coroutine[Any, Any, Response]:
    return world.bot.send._form({"payload": json.dumps(payload)}, {})


# Hypothesis' data.draw: a strategy in, an example out.
Draw = Callable[..., Any]
PAYLOADS: dict[str, Callable[[World, Draw], tuple[Any, Coroutine[Any, Any, Response]]]] = {}


def payload_kind(name: str) -> Callable[[Any], Any]:
    def register(build: Any) -> Any:
        PAYLOADS[name] = build
        return build

    return register


@payload_kind("command")
def _command(world: World, draw: Draw) -> Any:
    text = draw(st.sampled_from(["update better", "severity SEV1", "ack", "", "SEV2 x", "list"]))
    where = draw(st.sampled_from([world.channel, world.general]))
    fields = world.bot.send.command_fields(text, user=world.alice, channel=where)
    body = draw(broken(fields, strings_only=True))
    return body, world.bot.send._form(body, {})


@payload_kind("block_actions")
def _block_actions(world: World, draw: Draw) -> Any:
    body = draw(broken(block_actions(world, draw(st.sampled_from(list(Action))))))
    return body, _signed_payload(world, body)


@payload_kind("view_submission")
def _view_submission(world: World, draw: Draw) -> Any:
    base = view_payload(world, "view_submission", draw(st.sampled_from(list(FIELDS))))
    body = draw(broken(base))
    return body, _signed_payload(world, body)


@payload_kind("view_closed")
def _view_closed(world: World, draw: Draw) -> Any:
    body = draw(broken(view_payload(world, "view_closed", draw(st.sampled_from(list(FIELDS))))))
    return body, _signed_payload(world, body)


@payload_kind("shortcut")
def _shortcut(world: World, draw: Draw) -> Any:
    kind = draw(st.sampled_from(["shortcut", "message_action"]))
    body = draw(broken(shortcut(world, kind)))
    return body, _signed_payload(world, body)


@payload_kind("event_callback")
def _event_callback(world: World, draw: Draw) -> Any:
    event_type = draw(st.sampled_from(list(Event)))
    subtype = draw(st.sampled_from([None, "message_changed", "message_deleted", "bot_message"]))
    body = draw(broken(event_callback(world, event_type, subtype)))
    return body, _signed_json(world, body)


@payload_kind("url_verification")
def _url_verification(world: World, draw: Draw) -> Any:
    body = draw(broken({"token": "x", "challenge": "abc123", "type": "url_verification"}))
    return body, _signed_json(world, body)


@payload_kind("not an object")
def _not_an_object(world: World, draw: Draw) -> Any:
    body = draw(
        st.none()
        | st.booleans()
        | st.integers()
        | st.text(max_size=20)
        | st.lists(json_values, max_size=3)
    )
    send = _signed_json if draw(st.booleans()) else _signed_payload
    return body, send(world, body)


PER_KIND = settings(FUZZ, max_examples=60)


@pytest.mark.parametrize("kind", list(PAYLOADS))
@PER_KIND
@given(data=st.data())
def test_a_signed_malformed_payload_gets_a_2xx_or_4xx_never_a_5xx(
    world: World, errors: ErrorLog, kind: str, data: st.DataObject
) -> None:
    body, send = PAYLOADS[kind](world, data.draw)
    r: Response = world.run(send)
    assert r.status < 500, (r.status, r.body, body)
    world.run(listeners_done(5))  # a listener that crashed after the ack logs an error
    assert not errors.records, (errors.records[0].getMessage(), body)


def _without(payload: dict[str, Any], *path: str) -> dict[str, Any]:
    *parents, last = path
    inner = payload
    for key in parents:
        inner = inner[key]
    del inner[last]
    return payload


def _example(world: World, case: str) -> tuple[Any, bool, str]:
    """A case the issue names: the body, whether it goes as a form `payload`, and the
    field the answer must name."""
    if case == "empty actions":
        body = block_actions(world, Action.ESCALATE)
        body["actions"] = []
        return body, True, "actions.0"
    if case in ("null event", "string event"):
        body = event_callback(world, Event.MESSAGE, None)
        body["event"] = None if case == "null event" else "message"
        return body, False, "event"
    if case == "no view":
        return _without(view_payload(world, "view_submission", View.DECLARE), "view"), True, "view"
    if case == "no message":
        return _without(shortcut(world, "message_action"), "message"), True, "message"
    assert case == "no challenge"
    return {"token": "x", "type": "url_verification"}, False, "challenge"


@pytest.mark.parametrize(
    "case",
    ["empty actions", "null event", "string event", "no view", "no message", "no challenge"],
)
def test_a_signed_payload_without_what_it_needs_is_a_400_naming_the_field(
    world: World, errors: ErrorLog, case: str
) -> None:
    body, as_payload, field = _example(world, case)
    send = _signed_payload if as_payload else _signed_json
    r = world.run(send(world, body))
    assert r.status == 400
    assert f"`{field}`" in r.body, r.body
    assert not errors.records


def test_a_signed_command_without_user_id_is_a_400(world: World, errors: ErrorLog) -> None:
    fields = world.bot.send.command_fields("list", user=world.alice, channel=world.general)
    del fields["user_id"]
    r = world.run(world.bot.send._form(fields, {}))
    assert (r.status, r.body) == (400, "malformed request: `user_id` is missing")


def test_an_unsigned_malformed_payload_is_still_a_401(world: World) -> None:
    body = json.dumps({"type": "event_callback", "event": None}).encode()
    r = world.run(world.bot.send.raw(body, {"Content-Type": "application/json"}))
    assert r.status == 401


def test_slacks_certificate_check_is_still_answered(world: World) -> None:
    """Slack's ssl_check (a form with no type) is Bolt's to answer, not a malformed body."""
    r = world.run(world.bot.send._form({"ssl_check": "1", "token": "x"}, {}))
    assert r.status == 200
