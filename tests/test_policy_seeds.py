"""Each shipped policy says what its runbook (../shared/seeds) says.

Facts are checked on the loaded model, through the planner (`bot.planning.planner.plan`, the one
function `serve` and `simulate` both use to decide what is due), through the channel
naming rules, and end to end through `simulate` for the chain that matters most.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.dryrun.simulate import Simulation, simulate
from bot.incidents.channel_names import channel_name, is_valid_channel_name
from bot.planning.planner import ClockState, Due, Kind, Page, Reason, next_level, plan
from bot.policy import load_policy
from bot.policy.durations import BusinessDelta
from bot.policy.model import Policy, Severity
from bot.policy.templates import PLACEHOLDERS, render

ROOT = Path(__file__).resolve().parent.parent
POLICIES = sorted((ROOT / "policies").glob("*.yaml"))
#: Runbook number -> its shipped policy.
SHIPPED = {
    "000": ROOT / "policies/default.yaml",
    "001": ROOT / "policies/saltbitter.yaml",
    "002": ROOT / "policies/akaind.yaml",
    "003": ROOT / "policies/procedures.yaml",
    "004": ROOT / "policies/example-sev.yaml",
}
M, H, D = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)


def policy(runbook: str) -> Policy:
    return load_policy(SHIPPED[runbook]).policy


def sev(pol: Policy, name: str) -> Severity:
    found = pol.severity(name)
    assert found is not None, f"no severity {name!r}"
    return found


def column(pol: Policy, field: str) -> dict[str, object]:
    return {s.name: getattr(s, field) for s in pol.severities}


def state(severity: str, pages: Mapping[int, Page] | None = None, **kw: object) -> ClockState:
    return ClockState(
        severity=severity,
        declared_at=T0,
        severity_since=T0,
        pages=dict(pages or {}),
        **kw,  # type: ignore[arg-type]
    )


def escalations(dues: list[Due]) -> dict[int, tuple[timedelta, Reason]]:
    """Level -> (due after declaring, why), for the escalations the planner wants."""
    return {
        d.level: (d.due_at - T0, d.reason)
        for d in dues
        if d.kind is Kind.ESCALATE and d.level is not None
    }


def nag_after(dues: list[Due]) -> timedelta | None:
    return next((d.due_at - T0 for d in dues if d.kind is Kind.NAG), None)


def paged(at: timedelta, acked: timedelta | None = None) -> Page:
    return Page(T0 + at, T0 + at, None if acked is None else T0 + acked)


def level_names(pol: Policy) -> list[str]:
    return [lv.name for lv in pol.escalation.levels]


def minutes(sim: Simulation, action: str, needle: str) -> list[int]:
    return [
        int((e.at - sim.start) / M) for e in sim.events if e.action == action and needle in e.text
    ]


# --- every shipped policy -------------------------------------------------------------


def test_every_runbook_has_its_policy() -> None:
    assert sorted(SHIPPED.values()) == POLICIES
    seeds = sorted(p.name[:3] for p in (ROOT.parent / "shared" / "seeds").glob("*.txt"))
    assert not seeds or seeds == sorted(SHIPPED)


def test_validate_accepts_every_shipped_policy() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "bot", "validate", *map(str, POLICIES)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count(": ok") == len(POLICIES), r.stdout


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.name)
def test_loads_with_placeholder_contacts_to_fill_in(path: Path) -> None:
    loaded = load_policy(path)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=./schema.json\n")
    assert "FILL THESE IN" in text
    assert loaded.policy.contacts and all(
        "0000" in c.ref
        for c in loaded.policy.contacts.values()
        if c.kind not in ("channel", "schedule")
    )
    # A schedule's people are placeholders too (its contacts name only the schedule).
    for schedule in loaded.policy.schedules.values():
        assert all("0000" in p for layer in schedule.layers for p in layer.participants)
        assert schedule.usergroup is None or "0000" in schedule.usergroup
    assert loaded.policy.statuses.values == (
        "investigating",
        "identified",
        "monitoring",
        "resolved",
    )
    assert loaded.policy.channel.announce == "#incidents"
    assert loaded.policy.status_page.components


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.name)
def test_every_template_renders_every_placeholder(path: Path) -> None:
    pol = load_policy(path).policy
    values = {name: f"<{name}>" for name in PLACEHOLDERS}
    values |= {f"role_{r}": f"<{r}>" for r in pol.roles}
    texts = dict(pol.templates.model_dump()) | {"channel.topic": pol.channel.topic}
    for name, text in texts.items():
        out = render(text, values)
        assert "{" not in out and "}" not in out, f"{name}: {out}"
        assert "<" in out, f"{name} uses no placeholder"


@pytest.mark.parametrize(
    "path", [p for p in POLICIES if p.name != "default.yaml"], ids=lambda p: p.name
)
def test_the_checklist_is_not_repeated_in_the_announcement(path: Path) -> None:
    # Declaring appends the severity's checklist to the announcement ("Immediate actions").
    assert "{checklist}" not in load_policy(path).policy.templates.announcement


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.name)
def test_private_severities_are_never_on_the_status_page(path: Path) -> None:
    pol = load_policy(path).policy
    for s in pol.severities:
        assert not (s.private and s.status_page), s.name
        names = [s.name, *s.aliases]
        assert all(re.fullmatch(r"[A-Za-z0-9-]+", n) for n in names), names


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.name)
def test_every_severity_gets_a_valid_channel_name(path: Path) -> None:
    pol = load_policy(path).policy
    when = T0.astimezone(pol.tz)
    for s in pol.severities:
        name = channel_name(
            pol.channel.pattern, title="Checkout: 500s!", when=when, number=42, severity=s.name
        )
        assert is_valid_channel_name(name) and name.startswith("incident-"), name


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.name)
def test_a_resolved_incident_has_nothing_due(path: Path) -> None:
    pol = load_policy(path).policy
    for s in pol.severities:
        assert plan(state(s.name, resolved=True), pol) == []


# --- 001: SaltBitter, SEV-1..SEV-4 -----------------------------------------------------


def test_001_severities() -> None:
    pol = policy("001")
    assert pol.severity_names() == ["SEV-1", "SEV-2", "SEV-3", "SEV-4", "SEV-1-BREACH"]
    assert [sev(pol, n).name for n in ("sev1", "Sev 2", "SEV_3", "critical", "low")] == [
        "SEV-1",
        "SEV-2",
        "SEV-3",
        "SEV-1",
        "SEV-4",
    ]
    assert [s.label for s in pol.severities[:4]] == ["Critical", "High", "Medium", "Low"]
    assert (
        sev(pol, "SEV-1").impact == "Complete service outage, data breach, payment processing down"
    )
    assert sev(pol, "SEV-4").impact == "Cosmetic issues, no user impact"
    assert column(pol, "update_every") == {
        "SEV-1": 30 * M,  # "SEV-1: Every 30 minutes"
        "SEV-2": H,  # "SEV-2: Every hour"
        "SEV-3": 4 * H,  # "SEV-3: Every 4 hours"
        "SEV-4": None,
        "SEV-1-BREACH": 30 * M,
    }
    assert column(pol, "response_time") == {
        "SEV-1": 5 * M,
        "SEV-2": 30 * M,
        "SEV-3": 2 * H,  # in business hours
        "SEV-4": 8 * H,  # next business day: one business day
        "SEV-1-BREACH": 5 * M,
    }
    assert [s.name for s in pol.severities if isinstance(s.response_time, BusinessDelta)] == [
        "SEV-3",
        "SEV-4",
    ]
    assert set(column(pol, "resolve_within").values()) == {None}  # none stated
    assert [s.name for s in pol.severities if s.status_page] == ["SEV-1", "SEV-2"]
    assert [s.name for s in pol.severities if s.private] == ["SEV-1-BREACH"]
    breach = sev(pol, "data breach")
    assert breach is sev(pol, "security") and set(breach.invite) >= {"security", "legal"}
    assert "Acknowledge the alert in PagerDuty" in sev(pol, "SEV-1").checklist[0]
    assert sev(pol, "SEV-4").checklist == ("Open a GitHub issue",)


def test_001_channel_and_templates() -> None:
    pol = policy("001")
    when = datetime(2025, 11, 18, 8, 0, tzinfo=UTC)
    name = channel_name(
        pol.channel.pattern, title="Payments down", when=when, number=1, severity="SEV-1"
    )
    assert name == "incident-2025-11-18-payments-down"  # "#incident-YYYY-MM-DD-description"
    values = {"now": "08:00 UTC", "status": "Investigating", "update": "We are investigating."}
    assert render(pol.templates.customer_update, values) == (
        "[08:00 UTC] Investigating\nWe are investigating.\n"
    )
    assert "All services are operating normally" in pol.templates.customer_resolution
    assert "48 hours" in pol.templates.resolution
    assert pol.roles == ("commander",)
    assert pol.status_page.title == "SaltBitter Status"


def test_001_primary_paged_then_secondary_after_5_minutes_without_ack() -> None:
    pol = policy("001")
    assert level_names(pol) == [
        "Primary On-Call",
        "Secondary On-Call",
        "Engineering Manager",
        "CTO",
    ]
    fresh = plan(state("SEV-1"), pol)
    assert escalations(fresh) == {
        0: (timedelta(0), Reason.AT_DECLARE),  # primary: paged first
        3: (2 * H, Reason.UNRESOLVED),  # CTO: SEV-1 lasting over 2 hours
    }
    assert nag_after(fresh) == 30 * M
    # Primary paged at declaration, no ack: the secondary 5 minutes later.
    assert escalations(plan(state("SEV-1", {0: paged(0 * M)}), pol))[1] == (
        5 * M,
        Reason.NOT_ACKED,
    )
    # The secondary paged at +5m, no ack either: the engineering manager at +10m.
    both = plan(state("SEV-1", {0: paged(0 * M), 1: paged(5 * M)}), pol)
    assert escalations(both)[2] == (10 * M, Reason.NOT_ACKED)
    # Acknowledged in time: nobody else is paged for the ack; the CTO timer still runs.
    acked = plan(state("SEV-1", {0: paged(0 * M, acked=3 * M)}), pol)
    assert escalations(acked) == {3: (2 * H, Reason.UNRESOLVED)}
    assert next_level(state("SEV-1", {0: paged(0 * M, acked=3 * M)}), pol) == 1


def test_001_cto_only_for_a_sev1_lasting_over_2_hours() -> None:
    pol = policy("001")
    assert escalations(plan(state("SEV-2"), pol)) == {0: (timedelta(0), Reason.AT_DECLARE)}
    assert nag_after(plan(state("SEV-2"), pol)) == H
    assert escalations(plan(state("SEV-1-BREACH"), pol))[3] == (2 * H, Reason.UNRESOLVED)
    # SEV-3: not paged at declaration (business hours), 4-hourly updates; SEV-4: nothing.
    assert plan(state("SEV-3"), pol) == [Due(T0 + 4 * H, Kind.NAG, None, Reason.CADENCE)]
    assert plan(state("SEV-4"), pol) == []
    # Ignored reminders never escalate: the playbook escalates on acks and time only.
    assert pol.escalation.nag_limit is None
    ignored = state("SEV-3", last_nag_at=T0 + 12 * H, nags_since_update=3)
    assert escalations(plan(ignored, pol)) == {}


async def test_001_end_to_end_through_simulate() -> None:
    sim = await simulate(load_policy(SHIPPED["001"]), severity="sev1", silent_for=3 * H)
    assert minutes(sim, "post", "to *Primary On-Call") == [0]
    assert minutes(sim, "post", "to *Secondary On-Call") == [5], "no ack within 5 minutes"
    assert minutes(sim, "post", "to *Engineering Manager") == [10]
    assert minutes(sim, "post", "to *CTO") == [120], "SEV-1 lasting over 2 hours"
    assert minutes(sim, "post", "due a status update")[:2] == [30, 60]
    breach = await simulate(load_policy(SHIPPED["001"]), severity="breach", silent_for=10 * M)
    assert any(e.action == "create" and "private" in e.text for e in breach.events)
    assert not any(e.target == "#incidents" for e in breach.events), "never announced"


# --- 002: AKA Industries, P0..P3 -------------------------------------------------------


def test_002_severities() -> None:
    pol = policy("002")
    assert pol.severity_names() == ["P0", "P1", "P2", "P3", "P0-SECURITY"]
    assert [s.label for s in pol.severities[:4]] == ["Critical", "High", "Medium", "Low"]
    assert sev(pol, "P0").impact == "Complete service outage, data loss, or security breach"
    assert sev(pol, "P1").examples == (
        "API gateway down",
        "Authentication service offline",
        "Payment processing failed",
        "Memory leak causing crashes",
    )
    assert column(pol, "response_time") == {
        "P0": 5 * M,  # "Immediate (< 5 minutes)"
        "P1": 15 * M,
        "P2": H,
        "P3": 4 * H,
        "P0-SECURITY": 5 * M,
    }
    assert column(pol, "update_every") == {
        "P0": 15 * M,  # "Every 15 minutes in incident channel"
        "P1": 15 * M,
        "P2": None,  # the runbook gives P2 and P3 no cadence
        "P3": None,
        "P0-SECURITY": 15 * M,
    }
    assert set(column(pol, "resolve_within").values()) == {None}
    assert [s.name for s in pol.severities if s.status_page] == ["P0", "P1"]
    assert [s.name for s in pol.severities if s.private] == ["P0-SECURITY"]
    assert sev(pol, "breach").name == "P0-SECURITY"
    # "Invite: on-call, leads, relevant team members"
    assert sev(pol, "P0").invite == sev(pol, "P1").invite == ("oncall", "eng_lead", "devops_lead")
    assert pol.roles == ("commander", "scribe", "sme")  # "Commander, Scribe, SMEs"


def test_002_channel_and_templates() -> None:
    pol = policy("002")
    when = datetime(2024, 1, 15, 14, 30, tzinfo=UTC)
    name = channel_name(pol.channel.pattern, title="x", when=when, number=1, severity="P0")
    assert name == "incident-20240115-1430"  # "#incident-YYYYMMDD-HHmm"
    update = render(
        pol.templates.update,
        {"update_number": "3", "now": "14:45", "status": "Identified", "update_every": "15m"},
    )
    assert update.startswith(":bar_chart: *Incident Update #3* (14:45)")
    assert "Next update in 15m or when status changes" in update
    assert "support@akaind.ca" in pol.templates.customer_resolution
    assert "Marketing site" in pol.status_page.components


def test_002_on_call_paged_for_p0_p1_then_the_leads() -> None:
    pol = policy("002")
    assert level_names(pol) == ["On-Call Engineer", "Engineering and DevOps Leads", "CTO"]
    for name in ("P0", "P1", "P0-SECURITY"):
        fresh = plan(state(name), pol)
        assert escalations(fresh) == {0: (timedelta(0), Reason.AT_DECLARE)}, name
        assert nag_after(fresh) == 15 * M
    # The leads when on-call does not acknowledge within the severity's response time:
    # P0 "< 5 minutes", P1 "< 15 minutes".
    assert escalations(plan(state("P0", {0: paged(0 * M)}), pol)) == {1: (5 * M, Reason.NOT_ACKED)}
    assert escalations(plan(state("P1", {0: paged(0 * M)}), pol)) == {1: (15 * M, Reason.NOT_ACKED)}
    assert escalations(plan(state("P0", {0: paged(0 * M, acked=2 * M)}), pol)) == {}
    # Two ignored reminders page the leads (the bot's safety net), never the CTO.
    ignored = state(
        "P1", {0: paged(0 * M, acked=2 * M)}, last_nag_at=T0 + 30 * M, nags_since_update=2
    )
    assert escalations(plan(ignored, pol)) == {1: (30 * M, Reason.IGNORED_NAGS)}
    both = {0: paged(0 * M, acked=2 * M), 1: paged(30 * M, acked=31 * M)}
    silent = state("P1", both, last_nag_at=T0 + 2 * H, nags_since_update=8, nag_escalations=1)
    assert escalations(plan(silent, pol)) == {}
    # The CTO is a judgement call: manual, no automatic condition; P2 and P3 page nobody
    # and have no reminders.
    assert pol.escalation.levels[2].manual
    assert pol.escalation.levels[2].when.model_dump() == {
        "at_declare": (),
        "unresolved_after": {},
        "not_acknowledged_within": None,
    }
    assert plan(state("P2"), pol) == plan(state("P3"), pol) == []


async def test_002_end_to_end_through_simulate() -> None:
    sim = await simulate(load_policy(SHIPPED["002"]), severity="P0", silent_for=H)
    assert minutes(sim, "post", "to *On-Call Engineer") == [0]
    # Not acknowledged within P0's 5 minutes; paged again for the ignored reminders.
    assert minutes(sim, "post", "to *Engineering and DevOps Leads") == [5, 30]
    assert not minutes(sim, "post", "to *CTO"), "the CTO is paged only by a person"
    assert minutes(sim, "post", "due a status update")[:2] == [15, 30], "every 15 minutes"
    assert sim.events[0].target == "#incident-20260115-0900"


# --- 003: Incident Response Procedures, P0..P3 -----------------------------------------


def test_003_severities() -> None:
    pol = policy("003")
    assert pol.severity_names() == ["P0", "P1", "P2", "P3"]
    assert [s.label for s in pol.severities] == ["Critical", "High", "Medium", "Low"]
    assert sev(pol, "P0").impact == "Service completely down, critical data loss"
    assert column(pol, "resolve_within") == {
        "P0": H,  # "Within 1 hour"
        "P1": 4 * H,
        "P2": 24 * H,
        "P3": 14 * D,  # "Next sprint": two weeks assumed
    }
    assert column(pol, "response_time") == {"P0": 5 * M, "P1": 15 * M, "P2": H, "P3": 24 * H}
    assert column(pol, "update_every") == {
        "P0": 30 * M,  # "Every 30 minutes for P0"
        "P1": H,  # "hourly for P1"
        "P2": None,
        "P3": None,
    }
    assert [s.name for s in pol.severities if s.status_page] == ["P0", "P1"]
    assert not any(s.private for s in pol.severities)  # no security class in this runbook
    # Notification: P0 all stakeholders, P1 on-call and team lead, P2 on-call.
    assert "stakeholders" in sev(pol, "P0").invite
    assert sev(pol, "P1").invite == ("oncall", "team_lead")
    assert sev(pol, "P2").invite == ("oncall",)
    assert sev(pol, "P3").checklist == ("Notify through the ticket system",)


def test_003_channel_and_templates() -> None:
    pol = policy("003")
    when = datetime(2024, 1, 15, 14, 30, tzinfo=UTC)
    name = channel_name(pol.channel.pattern, title="DB down", when=when, number=1, severity="P0")
    assert name == "incident-2024-01-15-db-down"
    out = render(
        pol.templates.customer_update,
        {
            "status": "Identified",
            "started_at": "14:30",
            "now": "14:50",
            "update": "Root cause identified",
        },
    )
    assert out == (
        "Status: Identified\n\nTimeline:\n"
        "[14:30] - Issue detected\n[14:50] - Root cause identified\n"
    )
    assert "Post-mortem within 48 hours" in pol.templates.resolution


def test_003_escalation_path() -> None:
    pol = policy("003")
    assert level_names(pol) == ["On-call engineer", "Team lead", "Engineering manager", "CTO"]
    # P0: on-call and team lead at once ("Escalate if P0"); the engineering manager when
    # the team lead does not acknowledge within P0's response time (5 minutes), else past
    # the 1-hour target.
    assert escalations(plan(state("P0"), pol)) == {
        0: (timedelta(0), Reason.AT_DECLARE),
        1: (timedelta(0), Reason.AT_DECLARE),
        2: (H, Reason.UNRESOLVED),
    }
    unacked = {0: paged(0 * M, acked=1 * M), 1: paged(0 * M)}
    assert escalations(plan(state("P0", unacked), pol)) == {2: (5 * M, Reason.NOT_ACKED)}
    assert escalations(plan(state("P1", unacked), pol)) == {2: (15 * M, Reason.NOT_ACKED)}
    acked = {0: paged(0 * M, acked=1 * M), 1: paged(0 * M, acked=2 * M)}
    assert escalations(plan(state("P0", acked), pol)) == {2: (H, Reason.UNRESOLVED)}
    assert nag_after(plan(state("P0"), pol)) == 30 * M
    # P1: on-call and team lead notified; past the 4-hour target, one level up.
    assert escalations(plan(state("P1", acked), pol)) == {2: (4 * H, Reason.UNRESOLVED)}
    assert nag_after(plan(state("P1"), pol)) == H
    # P2: on-call only; the team lead when it is not resolved within its 24 hours.
    assert escalations(plan(state("P2"), pol)) == {
        0: (timedelta(0), Reason.AT_DECLARE),
        1: (24 * H, Reason.UNRESOLVED),
    }
    # P3: the ticket system; the CTO only by `/incident escalate`.
    assert plan(state("P3"), pol) == []
    assert next_level(state("P0", {0: paged(0 * M), 1: paged(0 * M), 2: paged(H)}), pol) == 3


# --- 004: SEV1..SEV4, IC / tech lead / comms / scribe ---------------------------------


def test_004_severities_and_roles() -> None:
    pol = policy("004")
    assert pol.severity_names() == ["SEV1", "SEV2", "SEV3", "SEV4", "SEV1-SECURITY"]
    assert sev(pol, "sev-1").name == "SEV1" and sev(pol, "Sev 2").name == "SEV2"
    assert sev(pol, "SEV1").examples == (
        "Complete service outage",
        "Data loss or corruption",
        "Security breach (declare SEV1-SECURITY: a private channel)",
        "Payment system failure",
    )
    assert column(pol, "response_time") == {
        "SEV1": 5 * M,
        "SEV2": 15 * M,
        "SEV3": H,
        "SEV4": None,  # next business day
        "SEV1-SECURITY": 5 * M,
    }
    assert column(pol, "update_every") == {
        "SEV1": 15 * M,  # "Every 15 minutes (SEV1)"
        "SEV2": 30 * M,  # "or 30 minutes (SEV2)"
        "SEV3": None,
        "SEV4": None,
        "SEV1-SECURITY": 15 * M,
    }
    assert set(column(pol, "resolve_within").values()) == {None}
    assert [s.name for s in pol.severities if s.private] == ["SEV1-SECURITY"]
    assert "security" in sev(pol, "breach").invite
    assert pol.roles == ("commander", "tech_lead", "comms_lead", "scribe")
    assert pol.timezone == "America/New_York"  # the runbook's times are EST
    holders = {"comms_lead": "U1", "tech_lead": "U2"}
    assert pol.allows("publish", "U1", commander="U9", roles=holders)
    assert pol.allows("resolve", "U2", commander="U9", roles=holders)
    assert not pol.allows("publish", "U2", commander="U9", roles=holders)


def test_004_channel_named_by_the_eastern_date() -> None:
    pol = policy("004")
    when = datetime(2024, 1, 15, 19, 15, tzinfo=UTC).astimezone(pol.tz)  # 14:15 EST
    name = channel_name(pol.channel.pattern, title="Payments", when=when, number=1, severity="SEV1")
    assert name == "incident-2024-01-15-payments"  # "#incident-2024-01-15-payments"
    late = datetime(2024, 1, 16, 2, 0, tzinfo=UTC).astimezone(pol.tz)  # 21:00 EST on the 15th
    assert (
        channel_name(pol.channel.pattern, title="Payments", when=late, number=2, severity="SEV1")
        == "incident-2024-01-15-payments"
    )
    announcement = render(
        pol.templates.announcement,
        {"severity": "SEV1", "title": "Payment System", "update_every": "15m"},
    )
    assert announcement.startswith("*[SEV1] Production Incident - Payment System*")
    assert "Updates every 15m in incident channel." in announcement
    assert "Affected services: {components}" in pol.templates.customer_update


def test_004_escalation_immediate_30_minutes_2_hours_as_needed() -> None:
    pol = policy("004")
    assert level_names(pol) == [
        "On-call engineer",
        "Team Lead",
        "Engineering Manager",
        "VP Engineering",
        "CTO",
    ]
    # SEV1: page on-call, escalate immediately.
    assert escalations(plan(state("SEV1"), pol)) == {
        0: (timedelta(0), Reason.AT_DECLARE),
        1: (timedelta(0), Reason.AT_DECLARE),
    }
    assert nag_after(plan(state("SEV1"), pol)) == 15 * M
    # SEV2: page on-call, escalate within 30 minutes.
    assert escalations(plan(state("SEV2"), pol)) == {
        0: (timedelta(0), Reason.AT_DECLARE),
        1: (30 * M, Reason.UNRESOLVED),
    }
    assert nag_after(plan(state("SEV2"), pol)) == 30 * M
    # SEV3: a ticket, no page; escalate within 2 hours. SEV4: as needed.
    assert escalations(plan(state("SEV3"), pol)) == {1: (2 * H, Reason.UNRESOLVED)}
    assert plan(state("SEV4"), pol) == []
    # The team lead paged and silent past SEV1's 5-minute response time: the engineering
    # manager.
    silent = state("SEV1", {0: paged(0 * M, acked=1 * M), 1: paged(0 * M)})
    assert escalations(plan(silent, pol)) == {2: (5 * M, Reason.NOT_ACKED)}
    # VP Engineering and CTO: only by a person (`/incident escalate`).
    for level in pol.escalation.levels[3:]:
        assert level.manual
        assert level.when.at_declare == () and level.when.unresolved_after == {}
        assert level.when.not_acknowledged_within is None


async def test_004_end_to_end_through_simulate() -> None:
    sim = await simulate(load_policy(SHIPPED["004"]), severity="SEV2", silent_for=2 * H)
    assert minutes(sim, "post", "to *On-call engineer") == [0]
    # SEV2: within 30 minutes; again at +60m when two reminders went unanswered.
    assert minutes(sim, "post", "to *Team Lead") == [30, 60]
    # Nobody acknowledges the Team Lead's page within SEV2's 15 minutes.
    assert minutes(sim, "post", "to *Engineering Manager") == [45]
    assert not minutes(sim, "post", "to *VP") and not minutes(sim, "post", "to *CTO")
    assert minutes(sim, "post", "due a status update")[:1] == [30], "SEV2: every 30 minutes"
    assert sim.events[0].target == "#incident-2026-01-15-simulated-incident"  # 04:00 EST
