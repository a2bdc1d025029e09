"""The log of a real run: one line per change with the incident number, LOG_FORMAT=json
one JSON object a line, and no token, signing secret or request body anywhere (a
bad-signature request included); Bolt's misleading start-up warnings gone."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest

from bot.ops.logs import IncidentNumber, QuietBolt, Redactor, formatter
from bot.slack.gateway import SlackChat, make_client
from tests.harness import ROOT, SIGNING_SECRET, eventually, settings_for
from tests.processes import BotProcess
from tests.slack_server import FakeSlack

POLICY = ROOT / "tests/policies/test.yaml"
BODY_MARKER = "do-not-log-this-body-7731"


async def test_a_json_log_of_an_incident_names_it_on_every_line_and_leaks_nothing(
    tmp_path: Path,
) -> None:
    async with FakeSlack.from_manifest(ROOT / "manifest.yml") as slack:
        alice = slack.add_user("alice")
        slack.add_user("lead", id="U0LEAD")
        general = slack.add_channel("general", members=[alice])
        slack.add_channel("incidents")
        bot = BotProcess(
            slack,
            f"sqlite+aiosqlite:///{tmp_path}/bot.db",
            POLICY,
            tmp_path / "bot.log",
            env={"LOG_FORMAT": "json"},
        )
        try:
            await bot.ready()
            assert (
                await bot.send.command("SEV1 Logs down", user=alice, channel=general)
            ).status == 200
            ch = await eventually(
                lambda: next((c for c in slack.channels.values() if "logs-down" in c.name), None),
                within=15,
            )
            await eventually(lambda: ch.pins, within=15)
            for words in ("update Fix deployed", "resolve Rolled back"):
                r = await bot.send.command(words, user=alice, channel=ch.id)
                assert r.status == 200 and r.json(), r.body  # the confirmation is the ack
            # A request with a wrong signature: Bolt would log its whole body.
            body = f"command=%2Fincident&text={BODY_MARKER}".encode()
            bad = {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": str(int(time.time())),
                "X-Slack-Signature": "v0=" + "0" * 64,
            }
            assert (await bot.send.raw(body, bad)).status == 401
            await eventually(lambda: "invalid signature" in bot.log.read_text(), within=10)
        finally:
            bot.stop()
        text = bot.log.read_text()

    lines = [json.loads(line) for line in text.splitlines()]  # every line parses
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    events = {line.get("event"): line for line in lines if line.get("incident") == "INC-1"}
    assert {"channel", "update", "resolve"} <= events.keys(), [x["message"] for x in lines]
    assert any("declared INC-1" in x["message"] and x.get("incident") == "INC-1" for x in lines)
    assert events["resolve"]["user"] == alice
    assert any(x["message"].startswith("serving policy") for x in lines)
    for secret in (slack.bot_token, SIGNING_SECRET, BODY_MARKER, "Fix deployed", "Rolled back"):
        assert secret not in text
    assert "token` will be unused" not in text


def _format(record: logging.LogRecord, log_format: str, redact: Redactor) -> str | None:
    for f in (QuietBolt(), IncidentNumber()):
        if not f.filter(record):
            return None
    return formatter(log_format, redact).format(record)


def test_tokens_secrets_and_passwords_are_masked_in_both_formats() -> None:
    redact = Redactor(["the-signing-secret"])
    message = (
        "token xoxb-1234-5678-abcdef and xapp-1-A0-1-ffff, secret the-signing-secret,"
        " db postgresql+asyncpg://bot:hunter2@db/incidents for INC-12"
    )
    for log_format in ("text", "json"):
        record = logging.LogRecord("x", logging.WARNING, __file__, 1, message, None, None)
        out = _format(record, log_format, redact)
        assert out is not None
        for leaked in ("xoxb-1234", "xapp-1-A0", "the-signing-secret", "hunter2"):
            assert leaked not in out, out
        assert "bot:***@db/incidents" in out
    assert out is not None
    assert json.loads(out)["incident"] == "INC-12"


def test_bolts_token_warning_is_dropped_and_its_bad_signature_line_loses_the_body() -> None:
    warn = logging.LogRecord(
        "slack_bolt.AsyncApp",
        logging.WARNING,
        __file__,
        1,
        "As you gave `client` as well, `token` will be unused.",
        None,
        None,
    )
    assert _format(warn, "text", Redactor()) is None
    bad = logging.LogRecord(
        "slack_bolt.AsyncApp",
        logging.INFO,
        __file__,
        1,
        "Invalid request signature detected (signature: v0=1, timestamp: 1, body: %s)",
        ("text=secret+words",),
        None,
    )
    out = _format(bad, "text", Redactor())
    assert out is not None and "secret words" not in out and "secret+words" not in out
    assert "invalid signature" in out


async def test_inviting_people_already_in_the_channel_is_not_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with FakeSlack.from_manifest(ROOT / "manifest.yml") as slack:
        alice = slack.add_user("alice")
        channel = slack.add_channel("incident-1", members=[alice, slack.bot_user_id])
        chat = SlackChat(make_client(settings_for(slack, "sqlite+aiosqlite://")))
        try:
            with caplog.at_level(logging.INFO, logger="bot.slack.gateway"):
                assert await chat.invite(channel, [alice]) == {}
        finally:
            await chat.close()
    lines = [r for r in caplog.records if "conversations.invite" in r.getMessage()]
    assert lines and all(r.levelno < logging.WARNING for r in lines), lines
