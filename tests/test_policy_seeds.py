"""Each shipped policy says what its runbook says, checked through `simulate` (the same
use cases, planner and scheduler as `serve`) and the naming rules."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.naming import channel_name
from bot.policy.loader import load_policy
from bot.policy.templates import PLACEHOLDERS, render
from bot.simulate import simulate

ROOT = Path(__file__).resolve().parent.parent
POLICIES = sorted((ROOT / "policies").glob("*.yaml"))
H, M = timedelta(hours=1), timedelta(minutes=1)


def minutes(sim, action: str, needle: str) -> list[int]:  # type: ignore[no-untyped-def]
    return [
        int((e.at - sim.start) / M) for e in sim.events if e.action == action and needle in e.text
    ]


def test_every_shipped_policy_validates() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "bot", "validate", *map(str, POLICIES)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert len(POLICIES) == 5


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.name)
def test_every_template_renders_every_placeholder(path: Path) -> None:
    policy = load_policy(path).policy
    values = {name: f"<{name}>" for name in PLACEHOLDERS}
    values |= {f"role_{r}": f"<{r}>" for r in policy.roles}
    for name, text in policy.templates.model_dump().items():
        assert "{" not in render(text, values).replace("{{", "").replace("}}", ""), name


async def test_001_saltbitter() -> None:
    loaded = load_policy(ROOT / "policies/saltbitter.yaml")
    pol = loaded.policy
    assert [s.name for s in pol.severities][:4] == ["SEV-1", "SEV-2", "SEV-3", "SEV-4"]
    assert [pol.severity(n).update_every for n in ("SEV-1", "SEV-2", "SEV-3")] == [  # type: ignore[union-attr]
        30 * M,
        H,
        4 * H,
    ]
    assert pol.severity("breach").private  # type: ignore[union-attr]
    when = datetime(2025, 11, 18, 8, 0, tzinfo=UTC)
    assert (
        channel_name(
            pol.channel.pattern, title="Payments down", when=when, number=1, severity="SEV-1"
        )
        == "incident-2025-11-18-payments-down"
    )
    sim = await simulate(loaded, severity="sev1", silent_for=3 * H)
    assert minutes(sim, "post", "to *Primary On-Call") == [0]
    assert minutes(sim, "post", "to *Secondary On-Call") == [5], "no ack within 5 minutes"
    assert minutes(sim, "post", "to *Engineering Manager") == [10]
    assert minutes(sim, "post", "to *CTO") == [120], "SEV-1 lasting over 2 hours"
    assert minutes(sim, "post", "due a status update")[:2] == [30, 60]


async def test_002_akaind() -> None:
    loaded = load_policy(ROOT / "policies/akaind.yaml")
    when = datetime(2024, 1, 15, 14, 30, tzinfo=UTC)
    assert (
        channel_name(loaded.policy.channel.pattern, title="x", when=when, number=1, severity="P0")
        == "incident-20240115-1430"
    )
    sim = await simulate(loaded, severity="P0", silent_for=H)
    assert minutes(sim, "post", "to *On-Call Engineer") == [0]
    assert minutes(sim, "post", "due a status update")[:2] == [15, 30], "every 15 minutes"
    assert sim.events[0].target.startswith("#incident-20260115-")
    quiet = await simulate(loaded, severity="P3", silent_for=8 * H)
    assert not minutes(quiet, "post", "due a status update")


async def test_003_procedures() -> None:
    loaded = load_policy(ROOT / "policies/procedures.yaml")
    pol = loaded.policy
    assert [pol.severity(n).resolve_within for n in ("P0", "P1", "P2")] == [  # type: ignore[union-attr]
        H,
        4 * H,
        24 * H,
    ]
    sim = await simulate(loaded, severity="P0", silent_for=2 * H)
    assert minutes(sim, "post", "to *Team lead") == [0], "P0: team lead at once"
    assert minutes(sim, "post", "due a status update")[:2] == [30, 60], "every 30 minutes"
    p1 = await simulate(loaded, severity="P1", silent_for=5 * H)
    assert minutes(p1, "post", "due a status update")[:2] == [60, 120], "hourly for P1"


async def test_004_example_sev() -> None:
    loaded = load_policy(ROOT / "policies/example-sev.yaml")
    assert loaded.policy.timezone == "America/New_York"
    assert set(loaded.policy.roles) == {"commander", "tech_lead", "comms_lead", "scribe"}
    when = datetime(2024, 1, 15, 19, 0, tzinfo=UTC)
    assert (
        channel_name(
            loaded.policy.channel.pattern, title="Payments", when=when, number=1, severity="SEV1"
        )
        == "incident-2024-01-15-payments"
    )
    sim = await simulate(loaded, severity="SEV2", silent_for=2 * H)
    assert minutes(sim, "post", "to *On-call engineer") == [0]
    assert minutes(sim, "post", "to *Team Lead") == [30], "SEV2: within 30 minutes"
    assert minutes(sim, "post", "due a status update")[:1] == [30], "SEV2: every 30 minutes"
    sev1 = await simulate(loaded, severity="SEV1", silent_for=H)
    assert minutes(sev1, "post", "due a status update")[:2] == [15, 30]
