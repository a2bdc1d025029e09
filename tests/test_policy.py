"""The policy model: the shipped default, durations, lookups, templates, and the five
runbooks in ../shared/seeds expressed as policies."""

from __future__ import annotations

import hashlib
import json
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.policy import (
    PLACEHOLDERS,
    Policy,
    PolicyInvalid,
    format_duration,
    load_policy,
    parse_duration,
    parse_policy,
    render,
    template_fields,
)
from bot.policy.schema import policy_json_schema
from bot.policy.templates import DEFAULT_TEMPLATES, template_problems
from bot.policy.yaml_source import load_yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "policies" / "default.yaml"


# --- the shipped policy (runbook 000, CitadelBuy) -----------------------------------


@pytest.fixture(scope="module")
def default() -> Policy:
    return load_policy(DEFAULT).policy


def test_default_policy_loads_with_its_version() -> None:
    loaded = load_policy(DEFAULT)
    assert loaded.path == str(DEFAULT)
    assert loaded.version == hashlib.sha256(DEFAULT.read_bytes()).hexdigest()
    assert loaded.policy.name == "CitadelBuy"
    assert loaded.policy.timezone == "UTC"


def test_default_severities_follow_the_runbook(default: Policy) -> None:
    m, h = timedelta(minutes=1), timedelta(hours=1)
    rows = [
        (s.name, s.label, s.response_time, s.update_every, s.resolve_within)
        for s in default.severities
    ]
    assert rows == [
        ("P1", "Critical - Production Down", 5 * m, 15 * m, 1 * h),
        ("P2", "High - Significant Impact", 15 * m, 30 * m, 4 * h),
        ("P3", "Medium - Limited Impact", 1 * h, 2 * h, 24 * h),
        ("P4", "Low - Minimal Impact", None, None, timedelta(days=7)),
        # The guide's "Security breach" P1 example, private (issue 13).
        ("P1-SECURITY", "Critical - Security Incident", 5 * m, 15 * m, 1 * h),
    ]
    p1, p2, p3, p4, security = default.severities
    assert p1.impact == "Complete service outage or critical functionality unavailable"
    assert "Security breach or active attack" in p1.examples
    assert p1.checklist[0] == "Page on-call engineer immediately"
    assert p1.checklist[-1] == "All hands on deck - cancel meetings"
    assert p2.checklist == (
        "Notify on-call engineer",
        "Escalate to Platform Lead",
        "Post status update within 30 minutes",
        "Create incident channel in Slack",
    )
    assert len(p3.checklist) == 4 and p4.checklist[-1] == "No immediate escalation needed"
    assert [s.status_page for s in default.severities] == [True, True, False, False, False]
    assert [s.name for s in default.severities if s.private] == ["P1-SECURITY"]
    assert security.matches("security") and security.matches("breach")
    # Updates go to #incidents too ("Post in #incidents"); 15 minutes of monitoring.
    assert [s.name for s in default.severities if s.broadcast_updates] == ["P1", "P2"]
    assert {s.name: s.monitor_for for s in default.severities if s.monitor_for} == {
        "P1": 15 * m,
        "P2": 15 * m,
        "P3": 15 * m,
        "P1-SECURITY": 15 * m,
    }


def test_default_escalation_chain(default: Policy) -> None:
    levels = default.escalation.levels
    assert [lv.name for lv in levels] == [
        "On-Call Engineer",
        "Platform Lead / Senior Engineer",
        "Engineering Manager / CTO",
        "CEO / Executive Team",
        "Security Team",
    ]
    assert [lv.targets for lv in levels] == [
        ("oncall",),
        ("platform_lead",),
        ("eng_manager", "cto"),
        ("executives",),
        ("security",),
    ]
    sev = {s.name: s for s in default.severities}

    def at_declare(i: int) -> list[str]:
        return [n for n, s in sev.items() if levels[i].when.pages_at_declare(s)]

    def after(i: int) -> dict[str, timedelta]:
        found = {n: levels[i].when.unresolved_after_for(s) for n, s in sev.items()}
        return {n: d for n, d in found.items() if d is not None}

    assert at_declare(0) == ["P1", "P2", "P3", "P1-SECURITY"]
    assert at_declare(1) == ["P1", "P2", "P1-SECURITY"]
    assert after(1) == {"P3": timedelta(minutes=30)}
    assert at_declare(2) == ["P1", "P1-SECURITY"]
    assert after(2) == {"P2": timedelta(hours=1), "P3": timedelta(hours=4)}
    assert at_declare(3) == [] and after(3) == {}
    assert at_declare(4) == ["P1-SECURITY"] and after(4) == {}


def test_default_channels_contacts_statuses_roles(default: Policy) -> None:
    assert default.channel.pattern == "incident-{date}-{slug}"
    assert default.channel.announce == "#incidents"
    assert default.statuses.values == ("investigating", "identified", "monitoring", "resolved")
    assert (default.statuses.initial, default.statuses.final) == ("investigating", "resolved")
    assert default.roles == ("commander", "tech_lead", "comms_lead")
    assert default.contacts["oncall"].kind == "schedule"
    assert default.contacts["platform_lead"].kind == "user"
    assert default.contacts["security"].ref == "#security-incidents"
    assert "FILL THESE IN" in DEFAULT.read_text()


def test_default_templates_render_without_leftover_placeholders(default: Policy) -> None:
    values = {name: f"<{name}>" for name in PLACEHOLDERS}
    values.update({f"role_{r}": f"<@{r}>" for r in default.roles})
    for name, text in default.templates:
        out = render(text, values)
        assert "{" not in out and "}" not in out, name
    announcement = render(default.templates.announcement, values)
    assert "Technical Lead: <@tech_lead>" in announcement
    assert "Communications: <@comms_lead>" in announcement
    assert "Dear <company> Users" in render(default.templates.customer_update, values)


# --- durations ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("15m", timedelta(minutes=15)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("7d", timedelta(weeks=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1d2h3m4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        ("90m", timedelta(minutes=90)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text", ["15 minutes", "15", "-5m", "", "1.5h", "15M", "m", "30m1h", "1w", "0m", "1h 30m"]
)
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_duration(text)
    if text != "0m":
        assert "write 30s, 15m, 2h or 1d" in str(info.value)


def test_parse_duration_rejects_non_text() -> None:
    with pytest.raises(ValueError, match="write 30s, 15m, 2h or 1d"):
        parse_duration(15)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(hours=1, minutes=30), "1h30m"),
        (timedelta(days=7), "7d"),
        (timedelta(seconds=45), "45s"),
        (timedelta(0), "0s"),
    ],
)
def test_format_duration(value: timedelta, text: str) -> None:
    assert format_duration(value) == text


@given(st.integers(min_value=1, max_value=10**8))
def test_format_then_parse_is_identity(seconds: int) -> None:
    value = timedelta(seconds=seconds)
    assert parse_duration(format_duration(value)) == value


# --- lookups ------------------------------------------------------------------------

SEV_POLICY = textwrap.dedent(
    """\
    name: Example
    severities:
      - {name: SEV-1, aliases: [critical, P0], label: Critical, impact: Outage}
      - {name: SEV-2, label: High, impact: Degraded}
    statuses:
      values: [Investigating, Identified, Monitoring, Resolved]
      initial: Investigating
      final: Resolved
    roles: [tech_lead, scribe]
    templates:
      announcement: "{severity} {title}"
    """
)


@pytest.mark.parametrize("spelling", ["SEV-1", "sev1", "Sev 1", "SEV_1", "sev-1", "CRITICAL", "p0"])
def test_severity_lookup_by_name_or_alias_ignoring_case(spelling: str) -> None:
    policy = parse_policy(SEV_POLICY).policy
    found = policy.severity(spelling)
    assert found is not None and found.name == "SEV-1"


def test_other_lookups() -> None:
    policy = parse_policy(SEV_POLICY).policy
    assert policy.severity("sev3") is None
    assert policy.severity_names() == ["SEV-1", "SEV-2"]
    assert policy.status("identified") == "Identified"
    assert policy.status("fixed") is None
    assert policy.roles == ("commander", "tech_lead", "scribe")  # commander always exists
    assert policy.role("Tech-Lead") == "tech_lead"
    assert policy.role("owner") is None


def test_model_is_frozen_and_round_trips_through_json(default: Policy) -> None:
    with pytest.raises(ValueError):
        default.name = "Other"  # type: ignore[misc]
    dumped = default.model_dump(mode="json")
    assert dumped["severities"][0]["update_every"] == "15m"
    assert dumped["severities"][3]["resolve_within"] == "7d"
    assert Policy.model_validate(json.loads(json.dumps(dumped))) == default


def test_permissions(default: Policy) -> None:
    roles = {"tech_lead": "U2", "comms_lead": "U3"}
    assert default.allows("resolve", "U1", commander="U1", roles=roles)
    assert default.allows("resolve", "U2", commander="U1", roles=roles)
    assert not default.allows("resolve", "U3", commander="U1", roles=roles)
    assert default.allows("publish", "U3", commander="U1", roles=roles)
    assert default.allows("declare", "U9")
    assert not default.allows("severity", "U9", commander="U1")


def test_json_schema_describes_the_default_policy() -> None:
    schema = policy_json_schema()
    data = load_yaml(DEFAULT.read_text()).data
    assert isinstance(data, dict)
    assert set(data) <= set(schema["properties"])
    assert "severities" in schema["required"]
    severity = schema["$defs"]["Severity"]
    assert "as needed" in severity["properties"]["update_every"]["description"]


# --- templates ----------------------------------------------------------------------


def test_template_fields() -> None:
    assert template_fields("{title} {{literal}} {severity} {x.y} {title}") == {"title", "severity"}


def test_render_substitutes_only_known_placeholders() -> None:
    out = render("{{ {title} }} {nope} {severity}", {"title": "DB down", "nope": "x"})
    assert out == "{ DB down } {nope} -"


def test_render_never_evaluates_attribute_access_indexing_or_formats() -> None:
    text = "{title.__class__} {title.__class__.__mro__} {title[0]} {title!r} {title:>20} {title}"
    out = render(text, {"title": "DB down"})
    assert out == (
        "{title.__class__} {title.__class__.__mro__} {title[0]} {title!r} {title:>20} DB down"
    )
    assert all(p.message.endswith("write {{ and }} for braces") for p in template_problems(text))
    assert len(template_problems(text)) == 5


def test_render_does_not_substitute_inside_values_and_never_raises() -> None:
    assert render("{title}", {"title": "{commander} {0} {"}) == "{commander} {0} {"
    assert render("{ lone } { and }", {}) == "{ lone } { and }"
    assert render("{role_scribe}", {}) == "-"
    assert render("{summary}", {}, missing="") == ""


def test_default_templates_are_valid() -> None:
    for name, text in DEFAULT_TEMPLATES.items():
        assert template_problems(text) == [], name


# --- YAML with lines ----------------------------------------------------------------


def test_yaml_lines_and_merge_keys() -> None:
    doc = load_yaml(
        textwrap.dedent(
            """\
            x-defaults: &sev
              label: Same
              impact: Same
            list:
              - <<: *sev
                name: A
                label: Own
            """
        )
    )
    assert doc.data == {
        "x-defaults": {"label": "Same", "impact": "Same"},
        "list": [{"name": "A", "label": "Own", "impact": "Same"}],
    }
    assert doc.lines[("list", 0)] == 5
    assert doc.lines[("list", 0, "label")] == 7  # its own key, not the anchor's
    assert doc.lines[("list", 0, "impact")] == 3  # merged: the anchor's line


def test_x_keys_hold_anchors_for_reuse() -> None:
    text = SEV_POLICY.replace(
        "severities:\n",
        "x-sev: &s {label: Same, impact: Same}\nseverities:\n  - {<<: *s, name: SEV-3}\n",
    )
    assert parse_policy(text).policy.severity("sev3") is not None


# --- the other runbooks in ../shared/seeds ------------------------------------------

SEED_001 = """\
# SaltBitter playbook: SEV-1..SEV-4, on-call chain with 5-minute acks.
name: SaltBitter
channel:
  pattern: "incident-{date_dashed}-{slug}"
contacts:
  primary: {usergroup: S0PRIMARY}
  secondary: {usergroup: S0SECONDARY}
  eng_manager: {user: U0EM}
  cto: {user: U0CTO}
  security: {channel: "#security"}
  legal: {usergroup: S0LEGAL, note: "legal@saltbitter.com (data breach)"}
severities:
  - name: SEV-1
    label: Critical
    impact: Complete service outage, data breach, payment processing down
    update_every: 30m
    status_page: true
  - name: SEV-2
    label: High
    impact: Major feature unavailable, significant performance degradation
    response_time: 30m
    update_every: 1h
    status_page: true
  - name: SEV-3
    label: Medium
    impact: Minor feature degradation, isolated user impact
    response_time: 2h
    update_every: 4h
  - name: SEV-4
    label: Low
    impact: Cosmetic issues, no user impact
  - name: SEC
    aliases: [security, breach]
    label: Security / data breach
    impact: Suspected breach; involve Legal
    update_every: 30m
    private: true
    invite: [legal]
templates:
  announcement: "{severity} {title} - IC {commander}"
  customer_update: "[{now}] {status}\\n{update}"
escalation:
  levels:
    - name: Primary On-Call
      targets: [primary, security]
      when: {at_declare: [SEV-1, SEC]}
    - name: Secondary On-Call
      targets: [secondary]
      when: {not_acknowledged_within: 5m}
    - name: Engineering Manager
      targets: [eng_manager]
      when: {not_acknowledged_within: 5m}
    - name: CTO
      targets: [cto]
      when: {unresolved_after: {SEV-1: 2h}}
"""

SEED_002 = """\
# AKA Industries: P0..P3, 15-minute updates, channel named by date and time.
name: AKA Industries
channel:
  pattern: "incident-{date}-{time}"
contacts:
  oncall: {usergroup: S0ONCALL}
  eng_lead: {user: U0ENGLEAD}
  devops_lead: {user: U0DEVOPS}
  cto: {user: U0CTO}
severities:
  - {name: P0, label: Critical, impact: "Complete outage, data loss, or security breach",
     response_time: 5m, update_every: 15m, status_page: true}
  - {name: P1, label: High, impact: "Major feature unavailable", response_time: 15m,
     update_every: 15m, status_page: true}
  - {name: P2, label: Medium, impact: Feature degradation, response_time: 1h}
  - {name: P3, label: Low, impact: "Minor issues, cosmetic problems", response_time: 4h}
roles: [commander, scribe, sme]
templates:
  announcement: "{severity}: {title}\\nCommander: {commander}  Scribe: {role_scribe}"
  update: |
    :bar_chart: Incident Update #{update_number} ({now})
    Status: {status}
    {update}
    ETA: Next update in {update_every} or when status changes
  customer_resolution: |
    We experienced a service interruption on {date} from {started_at} to {resolved_at} UTC
    affecting {components}.
escalation:
  levels:
    - {name: On-call engineer, targets: [oncall], when: {at_declare: [P0, P1]}}
    - {name: Engineering and DevOps leads, targets: [eng_lead, devops_lead],
       when: {at_declare: [P0]}}
    - {name: CTO, targets: [cto]}
"""

SEED_003 = """\
# P0..P3 with resolution targets; team lead paged for P0.
name: Example Co
contacts:
  oncall: {usergroup: S0ONCALL}
  team_lead: {user: U0TEAMLEAD}
  eng_manager: {user: U0EM}
  cto: {user: U0CTO}
severities:
  - {name: P0, label: Critical, impact: "Service completely down, critical data loss",
     update_every: 30m, resolve_within: 1h, invite: [oncall, team_lead]}
  - {name: P1, label: High, impact: "Major feature down", response_time: 15m,
     update_every: 1h, resolve_within: 4h, invite: [oncall, team_lead]}
  - {name: P2, label: Medium, impact: "Minor feature issues", response_time: 1h,
     resolve_within: 24h, invite: [oncall]}
  - {name: P3, label: Low, impact: "Minor issues, non-critical bugs", response_time: 24h}
templates:
  announcement: "{severity} {title}"
  postmortem: |
    Title: {title}
    Severity: {severity}
    Duration: {duration}
    Timeline:
    {timeline}
escalation:
  nag_limit: 3
  levels:
    - {name: On-call engineer, targets: [oncall], when: {at_declare: [P0, P1, P2]}}
    - {name: Team lead, targets: [team_lead], when: {at_declare: [P0]}}
    - {name: Engineering manager, targets: [eng_manager]}
    - {name: CTO, targets: [cto]}
"""

SEED_004 = """\
# SEV1..SEV4 with IC, tech lead, comms lead and scribe; times shown in US Eastern.
name: Example
timezone: America/New_York
channel:
  pattern: "incident-{date_dashed}-{slug}"
contacts:
  oncall: {usergroup: S0ONCALL}
  team_lead: {user: U0TEAMLEAD}
  vp_eng: {user: U0VPENG}
severities:
  - {name: SEV1, label: Critical, impact: "Complete service outage", response_time: 5m,
     update_every: 15m}
  - {name: SEV2, label: High, impact: "Partial service outage", response_time: 15m,
     update_every: 30m}
  - {name: SEV3, label: Medium, impact: "Minor feature unavailable", response_time: 1h}
  - {name: SEV4, label: Low, impact: "Cosmetic issues"}
roles: [commander, tech_lead, comms_lead, scribe]
templates:
  announcement: |
    Subject: [{severity}] Production Incident - {title}
    Impact: {impact}
    Start time: {started_at}
    Incident channel: {channel}
    IC: {commander}
    Tech Lead: {role_tech_lead}
  update: "UPDATE [{now}]\\nStatus: {status}\\n{update}\\nNext update: {next_update_at}"
escalation:
  levels:
    - {name: On-call engineer, targets: [oncall], when: {at_declare: [SEV1, SEV2]}}
    - name: Team lead
      targets: [team_lead]
      when:
        at_declare: [SEV1]
        unresolved_after: {SEV2: 30m, SEV3: 2h}
    - {name: VP Engineering, targets: [vp_eng], repeat_every: 15m}
permissions:
  publish: [commander, role:comms_lead]
"""


@pytest.mark.parametrize("text", [SEED_001, SEED_002, SEED_003, SEED_004])
def test_seed_runbooks_are_expressible(text: str) -> None:
    policy = parse_policy(text).policy
    assert len(policy.severities) >= 4
    assert len(policy.escalation.levels) >= 3


def test_seed_001_ack_chain_and_private_security_severity() -> None:
    policy = parse_policy(SEED_001).policy
    sec = policy.severity("breach")
    assert sec is not None and sec.private and sec.invite == ("legal",)
    primary, secondary, manager, cto = policy.escalation.levels
    assert primary.when.pages_at_declare(sec)
    assert secondary.when.not_acknowledged_within == timedelta(minutes=5)
    assert manager.when.not_acknowledged_within == timedelta(minutes=5)
    sev1 = policy.severity("sev1")
    assert sev1 is not None and cto.when.unresolved_after_for(sev1) == timedelta(hours=2)
    sev4 = policy.severity("Sev 4")
    assert sev4 is not None and sev4.update_every is None


def test_seed_004_time_zone_and_timed_escalation() -> None:
    policy = parse_policy(SEED_004).policy
    assert str(policy.tz) == "America/New_York"
    sev3 = policy.severity("sev3")
    assert sev3 is not None
    assert policy.escalation.levels[1].when.unresolved_after_for(sev3) == timedelta(hours=2)
    assert policy.escalation.levels[2].repeat_every == timedelta(minutes=15)


def test_first_level_cannot_wait_for_an_ack() -> None:
    text = SEED_001.replace(
        "when: {at_declare: [SEV-1, SEC]}", "when: {not_acknowledged_within: 5m}"
    )
    with pytest.raises(PolicyInvalid, match="first level has no earlier page"):
        parse_policy(text)


def test_recursive_aliases_and_alias_bombs_are_refused() -> None:
    with pytest.raises(PolicyInvalid, match="contains it"):
        load_yaml("a: &x [1, *x]\n")
    with pytest.raises(PolicyInvalid, match="contains it"):
        load_yaml("a: &x {<<: *x, b: 1}\n")
    bomb = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    bomb += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    with pytest.raises(PolicyInvalid, match="document too large"):
        load_yaml("\n".join(bomb) + "\n")
