"""manifest.yml and the listeners cannot drift: every command, shortcut and event the
manifest declares is handled, every one the code handles is declared, and the scopes
are exactly what the code calls (the fake Slack server enforces those at run time)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bot.slack.ids import SHORTCUT_ADD_TO_TIMELINE, SLASH_COMMAND, Event

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = yaml.safe_load((ROOT / "manifest.yml").read_text())
LISTENERS = "\n".join(p.read_text() for p in (ROOT / "bot/slack/listeners").glob("*.py"))


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
    shortcuts = [s["callback_id"] for s in MANIFEST["features"]["shortcuts"]]
    assert shortcuts == [SHORTCUT_ADD_TO_TIMELINE]
    assert "app.shortcut(SHORTCUT_ADD_TO_TIMELINE)" in LISTENERS


def test_message_events_come_with_their_history_scopes() -> None:
    scopes = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    events = set(MANIFEST["settings"]["event_subscriptions"]["bot_events"])
    assert ("message.channels" in events) == ("channels:history" in scopes)
    assert ("message.groups" in events) == ("groups:history" in scopes)
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True
