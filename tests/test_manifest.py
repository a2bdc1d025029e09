"""manifest.yml and the listeners cannot drift: every command, shortcut and event the
manifest declares is dispatched through the real app and handled, every one the code
handles is declared, and every scope the manifest asks for is used by a run through the
bot's features (the fake Slack server grants exactly the manifest's scopes, enforces them
per method and records which ones calls, deliveries and posts relied on)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.clock import VirtualClock
from bot.slack import startup_checks
from bot.slack.gateway import close_client, make_client
from bot.slack.ids import (
    SHORTCUT_ADD_ACTION_ITEM,
    SHORTCUT_ADD_TO_TIMELINE,
    SLASH_COMMAND,
    Event,
    View,
)
from tests.harness import Bot, eventually, start_bot
from tests.helpers import ONCALL, add_test_team, declare_checkout_errors, msg, virtual_clock
from tests.slack_requests import Response
from tests.slack_server import FakeSlack

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = yaml.safe_load((ROOT / "manifest.yml").read_text())
LISTENERS = "\n".join(p.read_text() for p in (ROOT / "bot/slack/listeners").glob("*.py"))
T0 = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
STALL = 2.5  # seconds; the bot below gives up on a call after 1


def handled_events() -> set[str]:
    found = set(re.findall(r'app\.event\("([a-z_]+)"\)', LISTENERS))
    # Listeners name events by their slack/ids.py Event member.
    found |= {
        Event[m].value for m in re.findall(r"app\.event\(Event\.([A-Z_]+)\.value\)", LISTENERS)
    }
    return found


def test_every_manifest_event_has_a_listener_and_back() -> None:
    declared = {e.split(".")[0] for e in MANIFEST["settings"]["event_subscriptions"]["bot_events"]}
    assert declared == handled_events()


def test_slash_command_and_shortcut_match() -> None:
    commands = [c["command"] for c in MANIFEST["features"]["slash_commands"]]
    assert commands == [SLASH_COMMAND]
    assert "app.command(SLASH_COMMAND)" in LISTENERS
    shortcuts = [(s["callback_id"], s["type"]) for s in MANIFEST["features"]["shortcuts"]]
    assert shortcuts == [
        (SHORTCUT_ADD_TO_TIMELINE, "message"),
        (SHORTCUT_ADD_ACTION_ITEM, "message"),
    ]
    # Message shortcuts only: a global one by that name (no message) gets no listener.
    assert "app.message_shortcut(SHORTCUT_ADD_TO_TIMELINE)" in LISTENERS
    assert "app.message_shortcut(SHORTCUT_ADD_ACTION_ITEM)" in LISTENERS


def test_message_events_come_with_their_history_scopes() -> None:
    scopes = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    events = set(MANIFEST["settings"]["event_subscriptions"]["bot_events"])
    assert ("message.channels" in events) == ("channels:history" in scopes)
    assert ("message.groups" in events) == ("groups:history" in scopes)
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True


# --- through the real app -----------------------------------------------------------------


class Run:
    """The bot over HTTP with a public SEV2 and a private incident declared by alice."""

    def __init__(self, slack: FakeSlack, bot: Bot, alice: str, general: str) -> None:
        self.slack, self.bot, self.alice, self.general = slack, bot, alice, general
        self.public = ""
        self.private = ""

    async def declare(self) -> None:
        self.public = await declare_checkout_errors(self.bot, self.alice, self.general)
        before = len(self.slack.responses)
        await self.bot.send.command("security Leaked keys", user=self.alice, channel=self.general)
        found = await eventually(
            lambda: self.slack.channel_by_name("incident-20260314-leaked-keys")
        )
        assert found.is_private
        self.private = found.id
        await eventually(lambda: len(self.slack.responses) > before)


@pytest.fixture
async def run(tmp_path: Path) -> AsyncIterator[Run]:
    async with FakeSlack.from_manifest(ROOT / "manifest.yml") as slack:
        alice, general = add_test_team(slack)
        bot = await start_bot(
            slack, f"sqlite+aiosqlite:///{tmp_path}/b.db", clock=VirtualClock(T0), slack_timeout=1
        )
        try:
            r = Run(slack, bot, alice, general)
            await r.declare()
            yield r
        finally:
            await bot.stop()


def handled(r: Response) -> None:
    # Bolt answers 404 to a request no listener took ("unhandled request").
    assert 200 <= r.status < 300, (r.status, r.body)


async def dispatch_every_command(run: Run) -> None:
    for declared in MANIFEST["features"]["slash_commands"]:
        before = len(run.slack.responses)
        r = await run.bot.send.command(
            "help", user=run.alice, channel=run.general, command=declared["command"]
        )
        handled(r)
        body = r.json()
        if not (body and body.get("text")):  # answered after the ack, by response_url
            await eventually(lambda n=before: len(run.slack.responses) > n)
            body = run.slack.responses[before]
        assert body["response_type"] == "ephemeral" and "/incident" in body["text"]


async def dispatch_every_shortcut(run: Run) -> None:
    shortcuts = MANIFEST["features"]["shortcuts"]
    assert {s["type"] for s in shortcuts} == {"message"}, "only message shortcuts are sent here"
    posted = run.slack.channels[run.public].messages[0]
    for shortcut in shortcuts:
        before = len(run.slack.views)
        r = await run.bot.send.message_action(
            shortcut["callback_id"],
            user=run.alice,
            channel=run.public,
            message={"ts": posted.ts, "text": posted.text, "user": run.alice, "type": "message"},
        )
        handled(r)
        await eventually(lambda n=before: len(run.slack.views) > n)  # its modal opened
    # The one shortcut's modal, submitted: the marked message gets a reaction.
    r = await run.bot.send.view_submission(
        View.ADD_TO_TIMELINE,
        {"key_text": {"key_text": {"type": "plain_text_input", "value": "Rolled back"}}},
        user=run.alice,
    )
    handled(r)
    await eventually(lambda: posted.reactions)


# One example of each subscription the manifest may declare, and what shows it was
# handled. A new subscription in manifest.yml needs its example here.
Example = tuple[dict[str, Any], Callable[[Run], object]]


def event_examples(run: Run) -> dict[str, Example]:
    def recorded(text: str) -> Callable[[Run], object]:
        async def check(run: Run) -> bool:
            entries = [e for i in (1, 2) for e in await run.bot.services.store.timeline(i)]
            return any(e.text == text for e in entries)

        return check

    def told_removed(channel: str) -> Callable[[Run], object]:
        return lambda run: [m for m in run.slack.dms.get(run.alice, []) if channel in m.text]

    def home_published(run: Run) -> object:
        return [v for v in run.slack.views if v.method == "views.publish"]

    public, private = run.public, run.private
    return {
        "message.channels": (msg(public, "1773480700.000100", "in public"), recorded("in public")),
        "message.groups": (
            msg(private, "1773480700.000200", "in private", channel_type="group"),
            recorded("in private"),
        ),
        "channel_left": (
            {"type": "channel_left", "channel": public, "actor_id": run.alice},
            told_removed(public),
        ),
        "group_left": (
            {"type": "group_left", "channel": private, "actor_id": run.alice},
            told_removed(private),
        ),
        "app_home_opened": (
            {"type": "app_home_opened", "user": run.alice, "tab": "home", "event_ts": "1.0"},
            home_published,
        ),
    }


async def dispatch_every_event(run: Run) -> None:
    examples = event_examples(run)
    declared = MANIFEST["settings"]["event_subscriptions"]["bot_events"]
    missing = [e for e in declared if e not in examples]
    assert not missing, f"add an example event for {missing} to event_examples()"
    # Messages first: the removals after them stop the recording of those channels.
    for i, name in enumerate(sorted(declared, key=lambda e: not e.startswith("message."))):
        event, shows_handled = examples[name]
        handled(await run.bot.send.event(event, event_id=f"Ev{i}"))
        await eventually(lambda check=shows_handled: check(run))


async def test_every_manifest_command_shortcut_and_event_reaches_a_listener(run: Run) -> None:
    await dispatch_every_command(run)
    await dispatch_every_shortcut(run)
    await dispatch_every_event(run)


async def test_every_manifest_scope_is_used(run: Run) -> None:
    """What a scope is for, and which step here needs it: declaring (channels:manage,
    groups:write for the private one, usergroups:read for the on-call group, pins:write,
    chat:write, chat:write.public for #incidents, which the bot is not in); a reminder
    whose DM times out and is looked for before it is sent again (im:write, im:history);
    the postmortem shared as a file (files:write); the shortcut's reaction
    (reactions:write); commands and shortcuts (commands); the events' subscriptions; the
    start-up check that the policy's people exist (users:read); an on-call schedule
    keeping its user group equal to who is on call (usergroups:write)."""
    slack, bot = run.slack, run.bot
    client = make_client(bot.services.settings)
    try:  # as `serve` does before it starts
        await startup_checks.missing_contacts(client, bot.services.policy.policy)
    finally:
        await close_client(client)
    slack.stall("chat.postMessage", STALL, processed=True, times=2)  # channel, then DM
    virtual_clock(bot).advance(timedelta(minutes=30))
    assert await bot.services.scheduler.run_due() >= 1
    assert [m for m in slack.dms.get(run.alice, []) if "due a status update" in m.text]
    before = len(slack.responses)
    handled(await bot.send.command("postmortem", user=run.alice, channel=run.public))
    await eventually(lambda: len(slack.responses) > before)
    assert [f for m in slack.messages(run.public) for f in (m.files or [])], "shared as a file"
    await dispatch_every_command(run)
    await dispatch_every_shortcut(run)
    await dispatch_every_event(run)
    # The row the hand-off watcher writes (bot/incidents/handoffs.py), delivered.
    async with bot.services.store.session() as s:
        await bot.services.outbox.usergroup(s, ONCALL, [run.alice], key="oncall-group:test")
        await s.commit()
    await bot.settled()
    assert slack.usergroups[ONCALL].users == [run.alice]

    granted = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    unused = granted - slack.scopes_used
    assert not unused, f"manifest.yml asks for scopes nothing used: {sorted(unused)}"
    assert slack.scopes_used <= granted  # else the fake would have refused (missing_scope)
