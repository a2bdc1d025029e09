"""Socket Mode, in a real process, against the fake Slack's WebSocket: commands are
answered in their acknowledgement, and a message for the timeline is acknowledged only
once it is stored (Slack re-sends an unacknowledged envelope; an acknowledged one never)."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.harness import ROOT, eventually
from tests.processes import BotProcess
from tests.slack_requests import SlackSender
from tests.slack_server import FakeSlack

POLICY = ROOT / "tests/policies/test.yaml"


@asynccontextmanager
async def socket_world() -> AsyncIterator[tuple[FakeSlack, str, str]]:
    """A workspace with alice in #general, and #incidents."""
    async with FakeSlack.from_manifest(ROOT / "manifest.yml") as slack:
        alice = slack.add_user("alice")
        general = slack.add_channel("general", members=[alice])
        slack.add_channel("incidents")
        yield slack, alice, general


def socket_bot(slack: FakeSlack, db: Path, tmp_path: Path) -> BotProcess:
    """`serve` in Socket Mode on SQLite at `db`."""
    return BotProcess(
        slack,
        f"sqlite+aiosqlite:///{db}",
        POLICY,
        tmp_path / "bot.log",
        env={"SLACK_APP_TOKEN": slack.socket_mode.app_token},
    )


async def test_socket_mode_declares_and_acks_timeline_messages_only_once_stored(
    tmp_path: Path,
) -> None:
    async with socket_world() as (slack, alice, general):
        socket, db = slack.socket_mode, tmp_path / "bot.db"
        bot = socket_bot(slack, db, tmp_path)
        payloads = SlackSender("", "", slack)  # builds what Slack sends; sends nothing
        try:
            await bot.ready()
            await socket.connected()
            sent = await socket.send(
                "slash_commands",
                payloads.command_fields("SEV1 Socket down", user=alice, channel=general),
            )
            answer = await socket.ack(sent)
            assert answer is not None and "Declaring" in answer["text"]
            ch = await eventually(
                lambda: next((c for c in slack.channels.values() if "socket-down" in c.name), None),
                within=15,
            )
            await eventually(lambda: ch.pins, within=15)

            # While another connection holds SQLite's write lock the line cannot be
            # stored, so the envelope must stay unacknowledged.
            blocker = sqlite3.connect(db, isolation_level=None)
            blocker.execute("BEGIN IMMEDIATE")
            message = {
                "type": "message",
                "channel": ch.id,
                "user": alice,
                "text": "Failing over the socket",
                "ts": "1773480700.000100",
            }
            sent = await socket.send("events_api", payloads.event_callback(message))
            try:
                await asyncio.sleep(0.5)
                assert not socket.acked(sent), "acknowledged before the line was stored"
            finally:
                blocker.execute("ROLLBACK")
                blocker.close()
            await socket.ack(sent)
            engine = create_async_engine(f"sqlite+aiosqlite:///{db}")
            async with engine.connect() as c:
                lines = (
                    await c.execute(
                        text("SELECT text FROM timeline_entry WHERE source_key IS NOT NULL")
                    )
                ).all()
            await engine.dispose()
            assert ("Failing over the socket",) in [tuple(r) for r in lines]
        finally:
            bot.stop()
        log = (tmp_path / "bot.log").read_text()
        assert socket.app_token not in log and slack.bot_token not in log


async def test_sigterm_in_socket_mode_finishes_the_set_up_under_way_and_exits_0(
    tmp_path: Path,
) -> None:
    async with socket_world() as (slack, alice, general):
        socket, db = slack.socket_mode, tmp_path / "bot.db"
        bot = socket_bot(slack, db, tmp_path)
        payloads = SlackSender("", "", slack)
        try:
            await bot.ready()
            await socket.connected()
            # Slack is slow to create the channel: the set-up is under way at SIGTERM.
            slack.stall("conversations.create", 1.5, processed=True)
            sent = await socket.send(
                "slash_commands",
                payloads.command_fields("SEV1 Draining socket", user=alice, channel=general),
            )
            await socket.ack(sent)
            await eventually(lambda: slack.calls_to("conversations.create"), within=15)
            async with aiohttp.ClientSession() as s, s.get(f"{bot.url}/metrics") as r:
                scraped = await r.text()
            assert 'incident_bot_ack_seconds_count{kind="command"} 1.0' in scraped
            bot.proc.send_signal(signal.SIGTERM)
            code = await asyncio.get_running_loop().run_in_executor(None, bot.proc.wait, 30)
        finally:
            bot.stop()
        assert code == 0, (tmp_path / "bot.log").read_text()[-3000:]
        ch = next(c for c in slack.channels.values() if "draining-socket" in c.name)
        assert ch.pins, "the set-up under way was finished before the exit"
        engine = create_async_engine(f"sqlite+aiosqlite:///{db}")
        async with engine.connect() as c:
            states = (await c.execute(text("SELECT kind, state FROM due_job"))).all()
        await engine.dispose()
        assert ("setup", "done") in [tuple(r) for r in states]
        assert not [r for r in states if r[1] == "claimed"], states
        assert "Traceback" not in (tmp_path / "bot.log").read_text()


async def test_a_malformed_envelope_is_acknowledged_and_logged_without_a_traceback(
    tmp_path: Path,
) -> None:
    """The HTTP endpoint's shape check (bot/slack/payloads.py) guards Socket Mode too:
    acknowledged, since Slack would re-send it in vain, and one warning line."""
    async with socket_world() as (slack, alice, _general):
        socket = slack.socket_mode
        bot = socket_bot(slack, tmp_path / "bot.db", tmp_path)
        try:
            await bot.ready()
            await socket.connected()
            empty = {
                "type": "block_actions",
                "user": {"id": alice},
                "trigger_id": "t",
                "actions": [],
            }
            assert await socket.ack(await socket.send("interactive", empty)) is None
            null_event = {**SlackSender("", "", slack).event_callback({}), "event": None}
            assert await socket.ack(await socket.send("events_api", null_event)) is None
        finally:
            bot.stop()
        log = (tmp_path / "bot.log").read_text()
        assert "rejected a malformed Socket Mode interactive envelope: `actions.0`" in log
        assert "rejected a malformed Socket Mode events_api envelope: `event`" in log
        assert "Traceback" not in log
