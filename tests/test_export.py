"""A scripted incident exports a timeline with each message once, in order."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.harness import ROOT, TEST_POLICY, eventually
from tests.helpers import DeclaredIncident, msg


def export(db: str, ref: str, fmt: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": db, "INCIDENT_POLICY": str(TEST_POLICY)}
    return subprocess.run(
        [sys.executable, "-m", "bot", "export", ref, "--format", fmt],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_scripted_incident_exports_each_message_once_in_order(
    incident: DeclaredIncident,
    tmp_path: Path,
) -> None:
    _, bot, ch, alice = incident
    send = bot.send.event
    # Out of order delivery and retries: the export is ordered by when things happened.
    await send(msg(ch, "1773480760.000200", "second", user=alice), event_id="E2")
    await send(msg(ch, "1773480700.000100", "first", user=alice), event_id="E1")
    await send(msg(ch, "1773480700.000100", "first", user=alice), event_id="E1", retry_num=1)
    await send(
        msg(ch, "1773480800.000300", "reply", user=alice, thread_ts="1773480700.000100"),
        event_id="E3",
    )
    await send(
        {
            "type": "message",
            "subtype": "message_changed",
            "channel": ch,
            "ts": "1773480900.0",
            "event_ts": "1773480900.0",
            "message": {
                "user": alice,
                "text": "second, edited",
                "ts": "1773480760.000200",
                "edited": {"user": alice, "ts": "1773480900.000000"},
            },
            "previous_message": {"text": "second", "ts": "1773480760.000200"},
        },
        event_id="E4",
    )
    await send(
        {
            "type": "message",
            "subtype": "message_deleted",
            "channel": ch,
            "ts": "1773481000.0",
            "event_ts": "1773481000.0",
            "deleted_ts": "1773480800.000300",
        },
        event_id="E5",
    )

    async def settled() -> bool:
        # Slack's events are handled concurrently after the ack: wait for all of them.
        rows = await bot.services.store.timeline(1)
        return {"deletion", "edit"} <= {r.kind for r in rows} and {"first", "second", "reply"} <= {
            r.text for r in rows
        }

    await eventually(settled)
    db = bot.services.settings.database_url
    r = export(db, "INC-1", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    people = [e for e in data["timeline"] if e["kind"] == "message" and e["author"] == alice]
    assert [e["text"] for e in people] == ["first", "second, edited", "reply"]
    assert people[1]["data"]["history"] == ["second"]
    assert people[2]["data"]["deleted"] is True
    at = [e["at"] for e in data["timeline"]]
    assert at == sorted(at)
    assert data["incident"]["number"] == "INC-1"
    assert data["metrics"]["to_resolve_s"] is None

    md = export(db, "incident-20260314-checkout-errors", "md")
    assert md.returncode == 0, md.stderr
    assert "Checkout errors" in md.stdout and "| Time | Event |" in md.stdout
    assert "Declared" in md.stdout and "Time to resolve: not yet" in md.stdout

    missing = export(db, "INC-99", "md")
    assert missing.returncode == 1 and "INC-42" in missing.stderr
