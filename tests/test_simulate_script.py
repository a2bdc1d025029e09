"""`simulate --script`: a realistic incident played on the same planner and use cases as
`serve`; each shipped policy's script plays its runbook's main path."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from bot.dryrun.script import load_script
from bot.dryrun.simulate import Simulation, simulate
from bot.policy import PolicyInvalid
from bot.policy.loader import load_policy
from tests.harness import ROOT

SCRIPTS = ROOT / "policies/scripts"
M = timedelta(minutes=1)


async def play(name: str) -> Simulation:
    loaded = load_policy(ROOT / f"policies/{name}.yaml")
    return await simulate(loaded, script=load_script(SCRIPTS / f"{name}.yaml", loaded.policy))


def paged(sim: Simulation, level: str) -> list[int]:
    """Minutes at which `level` was paged (its channel mention)."""
    return [
        int((e.at - sim.start) / M)
        for e in sim.events
        if e.action == "post" and f"to *{level}*" in e.text
    ]


def said(sim: Simulation, action: str) -> list[str]:
    return [e.text for e in sim.events if e.action == action]


def test_every_shipped_policy_ships_a_script() -> None:
    policies = {p.stem for p in (ROOT / "policies").glob("*.yaml")}
    assert {p.stem for p in SCRIPTS.glob("*.yaml")} == policies


async def test_000_p1_everyone_at_once_acks_in_time_no_ceo() -> None:
    sim = await play("default")
    assert paged(sim, "On-Call Engineer") == [0]
    assert paged(sim, "Platform Lead / Senior Engineer") == [0]
    assert paged(sim, "Engineering Manager / CTO") == [0]
    assert paged(sim, "CEO / Executive Team") == [], "a judgement call nobody made"
    assert said(sim, "refused") == []
    assert sim.resolved and "due a status update" not in " ".join(said(sim, "post"))


async def test_001_sev1_secondary_after_5_minutes_and_no_manager_once_acked() -> None:
    sim = await play("saltbitter")
    assert paged(sim, "Primary On-Call") == [0]
    assert paged(sim, "Secondary On-Call") == [5], "primary did not respond in 5 minutes"
    assert paged(sim, "Engineering Manager") == [], "the secondary acknowledged in time"
    assert paged(sim, "CTO") == [], "resolved before 2 hours"
    assert said(sim, "refused") == [] and sim.resolved


async def test_002_p0_on_call_acks_within_5_minutes_no_leads_no_cto() -> None:
    sim = await play("akaind")
    assert paged(sim, "On-Call Engineer") == [0]
    assert paged(sim, "Engineering and DevOps Leads") == []
    assert paged(sim, "CTO") == []
    assert said(sim, "refused") == [] and sim.resolved


async def test_003_p0_on_call_and_team_lead_at_once_no_manager_once_acked() -> None:
    sim = await play("procedures")
    assert paged(sim, "On-call engineer") == [0]
    assert paged(sim, "Team lead") == [0], '"Escalate if P0"'
    assert paged(sim, "Engineering manager") == [], "acknowledged, resolved within 1 hour"
    assert paged(sim, "CTO") == []
    assert said(sim, "refused") == [] and sim.resolved


async def test_004_raised_to_sev1_escalates_to_the_team_lead_at_once() -> None:
    sim = await play("example-sev")
    assert paged(sim, "On-call engineer") == [0]
    assert paged(sim, "Team Lead") == [10], "SEV1: escalation immediate, from the raise"
    assert any("severity raised to SEV1" in t for t in said(sim, "dm"))
    assert paged(sim, "Engineering Manager") == [], "acknowledged within SEV1's 5 minutes"
    assert paged(sim, "VP Engineering") == [] and paged(sim, "CTO") == []
    assert said(sim, "refused") == [] and sim.resolved


def run(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "bot", "simulate", *args]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("event", "field", "message"),
    [
        ("{at: 5m, dance: oncall}", "events[1]", "an event does exactly one of ack, update"),
        ("{at: 5 minutes, ack: oncall}", "events[1].at", "is not a duration"),
        ("{at: 5m, ack: bob}", "events[1].ack", '"bob" is not a person the policy knows'),
        ("{at: 5m, escalate: Legal}", "events[1].escalate", 'unknown level "Legal"'),
        ("{at: 5m, update: x, colour: red}", "events[1].colour", 'unknown field "colour"'),
    ],
)
def test_a_bad_script_names_file_line_and_field(
    tmp_path: Path, event: str, field: str, message: str
) -> None:
    script = tmp_path / "s.yaml"
    script.write_text(f"severity: P1\nevents:\n  - {{at: 1m, ack: oncall}}\n  - {event}\n")
    with pytest.raises(PolicyInvalid) as caught:
        load_script(script, load_policy(ROOT / "policies/default.yaml").policy)
    (error,) = caught.value.errors
    assert (error.file, error.line, error.field) == (str(script), 4, field)
    assert message in error.message
    out = run("--script", str(script))
    assert out.returncode == 1 and f"{script}:4: {field}" in out.stderr


def test_text_keeps_every_message_whole_collapses_repeats_and_sums_up() -> None:
    out = run("--severity", "P1", "--silent-for", "3h")
    assert out.returncode == 0, out.stderr
    text = out.stdout
    nag = "is due a status update: the runbook asks for one every 15m. Post it with"
    assert nag in text, "a reminder keeps its instruction"
    assert text.count("is due a status update") == 2, "the channel's and the DM, once each"
    assert "(\u00d712, every 15m from +15m to +3h)" in text
    summary = text[text.index("\nSummary:") :]
    # On-Call Engineer is a schedule: whoever is on call then (placeholder U0000ONCALL2).
    on_call = "paged: On-Call Engineer (paged at declaration for this severity): @U0000ONCALL2"
    assert on_call in summary
    assert "update reminders sent: 12" in summary and "no page was acknowledged" in summary
    data = json.loads(run("--severity", "P1", "--silent-for", "3h", "--json").stdout)
    assert sum("is due a status update" in e["text"] for e in data["events"]) == 24
    assert data["summary"][-1] == "no page was acknowledged"


def test_a_closed_pipe_exits_quietly() -> None:
    cmd = [sys.executable, "-m", "bot", "simulate", "--severity", "P1", "--silent-for", "24h"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()  # `| head -1`
    assert proc.wait(timeout=120) == 0
    with proc.stderr:
        assert proc.stderr.read() == b"", "no BrokenPipe traceback"
