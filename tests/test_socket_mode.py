"""Socket Mode, in a real process, against the fake Slack's WebSocket: commands are
answered in their acknowledgement, and a message for the timeline is acknowledged only
once it is stored (Slack re-sends an unacknowledged envelope; an acknowledged one never)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.harness import ROOT, eventually
from tests.processes import BotProcess
from tests.slack_requests import SlackSender
from tests.slack_server import FakeSlack

POLICY = ROOT / "tests/policies/test.yaml"


async def test_socket_mode_declares_and_acks_timeline_messages_only_once_stored(
    tmp_path: Path,
) -> None:
    async with FakeSlack.from_manifest(ROOT / "manifest.yml") as slack:
        socket = slack.socket_mode
        alice = slack.add_user("alice")
        general = slack.add_channel("general", members=[alice])
        slack.add_channel("incidents")
        db = tmp_path / "bot.db"
        bot = BotProcess(
            slack,
            f"sqlite+aiosqlite:///{db}",
            POLICY,
            tmp_path / "bot.log",
            env={"SLACK_APP_TOKEN": socket.app_token},
        )
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
