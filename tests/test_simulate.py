"""`simulate` runs the real use cases, planner and scheduler on a virtual clock."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from bot.dryrun.simulate import simulate
from bot.policy.loader import load_policy
from tests.harness import ROOT


def offsets(events: list[dict[str, object]], action: str, needle: str) -> list[int]:
    return [
        int(e["offset_seconds"]) // 60  # type: ignore[call-overload]
        for e in events
        if e["action"] == action and needle in str(e["text"])
    ]


async def test_default_policy_p2_follows_runbook_000() -> None:
    sim = await simulate(load_policy(ROOT / "policies/default.yaml"), severity="p2")
    events = [e.as_dict(sim.start) for e in sim.events]
    assert events[0]["action"] == "create" and events[0]["target"].startswith("#incident-")
    assert offsets(events, "pin", "") == [0]
    assert offsets(events, "post", "Notify on-call engineer") == [0], "checklist, once"
    nags = offsets(events, "post", "due a status update")
    assert nags == [30, 60, 90, 120], "P2: every 30 minutes"
    assert offsets(events, "dm", "due a status update") == nags, "the commander gets a DM too"
    # P2 escalates at declaration; two ignored reminders page the Platform Lead again.
    assert offsets(events, "post", "to *Platform Lead") == [0, 60]
    # Nobody acknowledges: the Platform Lead's page outlives P2's 15-minute response time.
    assert offsets(events, "post", "to *Engineering Manager / CTO") == [15]
    assert offsets(events, "post", "to *CEO") == [], "a judgement call: only by a person"


async def test_runbook_001_chain_on_the_clock(tmp_path: Path) -> None:
    # Without the ignored-reminder rule, which would reach the CTO sooner.
    text = (ROOT / "tests/policies/clocks.yaml").read_text()
    (tmp_path / "p.yaml").write_text(text.replace("nag_limit: 2", "nag_limit: null"))
    sim = await simulate(
        load_policy(tmp_path / "p.yaml"), severity="sev1", silent_for=timedelta(hours=2)
    )
    events = [e.as_dict(sim.start) for e in sim.events]
    assert offsets(events, "post", "Primary On-Call") == [0]
    assert offsets(events, "post", "Secondary On-Call") == [5]
    assert offsets(events, "post", "Engineering Manager") == [10]
    assert offsets(events, "post", "to *CTO*") == [120]
    assert offsets(events, "post", "needs CTO") == [120], "the channel target gets a link"


async def test_no_cadence_means_no_reminders() -> None:
    sim = await simulate(
        load_policy(ROOT / "policies/default.yaml"), severity="P4", silent_for=timedelta(hours=8)
    )
    assert not [e for e in sim.events if "status update" in e.text]


def test_cli_text_and_json() -> None:
    run = [sys.executable, "-m", "bot", "simulate", "--severity", "P1", "--silent-for", "30m"]
    out = subprocess.run(run, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "+15m" in out.stdout and "due a status update" in out.stdout
    assert "INFO" not in out.stderr
    out = subprocess.run([*run, "--json"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    data = json.loads(out.stdout)
    assert data["severity"] == "P1" and data["events"]


def test_cli_bad_arguments_say_what_works() -> None:
    base = [sys.executable, "-m", "bot", "simulate"]
    r = subprocess.run([*base, "--severity", "P9"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 2 and "P1, P2, P3, P4" in r.stderr
    r = subprocess.run([*base, "--silent-for", "2 hours"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 2 and "15m" in r.stderr


async def test_updates_restart_the_clock_in_a_simulation() -> None:
    sim = await simulate(
        load_policy(ROOT / "policies/default.yaml"),
        severity="P2",
        silent_for=timedelta(hours=2),
        updates_every=timedelta(minutes=20),
    )
    events = [e.as_dict(sim.start) for e in sim.events]
    in_channel = [e for e in events if e["target"] != "#incidents"]
    assert offsets(in_channel, "post", "Simulated update") == [20, 40, 60, 80, 100, 120]
    # P2's updates are told in #incidents too (runbook 000: "Post in #incidents").
    assert offsets(events, "post", "Simulated update") == [
        m for m in range(20, 121, 20) for _ in "ab"
    ]
    assert offsets(events, "post", "due a status update") == [], "updated in time: no nags"
    # Updates are not acknowledgements: the unacknowledged page still climbs at P2's
    # 15-minute response time (and updated in time, the Platform Lead is not paged again).
    assert offsets(events, "post", "to *Engineering Manager / CTO") == [15]
    assert offsets(events, "post", "to *Platform Lead") == [0]
