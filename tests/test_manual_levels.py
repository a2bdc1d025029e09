"""Missed updates page the level the policy names; manual levels (judgement calls) are
paged only by a person: never by a condition, never by ignored reminders."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.dryrun.simulate import simulate
from bot.policy import PolicyInvalid, load_policy, parse_policy
from tests.harness import ROOT

SHIPPED = sorted((ROOT / "policies").glob("*.yaml"))

POLICY = """\
name: Testco
contacts:
  oncall: {user: U0ONCALL}
  lead: {user: U0LEAD}
  ceo: {user: U0CEO}
severities:
  - name: SEV1
    label: Critical
    impact: Outage
    update_every: 15m
templates:
  announcement: "{severity} {title}"
escalation:
  missed_updates: {after: 2, page: PAGED}
  levels:
    - name: On-call
      targets: [oncall]
      when: {at_declare: [SEV1]}
    - name: Lead
      targets: [lead]
    - name: CEO
      targets: [ceo]
      manual: true
"""


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
async def test_no_shipped_policy_auto_pages_a_manual_level(path: Path) -> None:
    loaded = load_policy(path)
    manual = [lv.name for lv in loaded.policy.escalation.levels if lv.manual]
    for sev in loaded.policy.severities:
        sim = await simulate(loaded, severity=sev.name, silent_for=timedelta(hours=24))
        paged = [e.text for e in sim.events if e.action == "post" and "Escalat" in e.text]
        for name in manual:
            assert not [t for t in paged if f"*{name}*" in t], (path.stem, sev.name, name)


def test_shipped_policies_mark_their_judgement_calls_manual() -> None:
    manual = {
        p.stem: [lv.name for lv in load_policy(p).policy.escalation.levels if lv.manual]
        for p in SHIPPED
    }
    assert manual == {
        "akaind": ["CTO"],  # 002: no condition in the runbook
        "default": ["CEO / Executive Team"],  # 000: "business impact or legal concerns"
        "example-sev": ["VP Engineering", "CTO"],  # 004: "as needed"
        "procedures": ["CTO"],  # 003: "business-critical incidents"
        "saltbitter": [],  # 001: the CTO is timed, "SEV-1 lasting >2 hours"
    }


async def test_missed_updates_page_the_named_level_not_the_top() -> None:
    pol = parse_policy(POLICY.replace("PAGED", "Lead"), "p.yaml")
    sim = await simulate(pol, severity="SEV1", silent_for=timedelta(hours=3))
    paged = [(e.at - sim.start, e.text) for e in sim.events if e.action == "post"]
    lead = [at for at, t in paged if "to *Lead*" in t]
    assert lead == [timedelta(minutes=30)], "two ignored reminders: +15m, +30m"
    assert "update reminders were ignored" in next(t for _, t in paged if "to *Lead*" in t)
    assert not [t for _, t in paged if "*CEO*" in t]


@pytest.mark.parametrize(
    ("paged", "message"),
    [
        ("CEO", '"CEO" is manual: paged only by a person; levels that may be paged: On-call, Lead'),
        ("CTO", 'no level is named "CTO"; levels that may be paged: On-call, Lead'),
    ],
)
def test_validate_refuses_a_manual_or_missing_missed_updates_level(
    paged: str, message: str
) -> None:
    text = POLICY.replace("PAGED", paged)
    with pytest.raises(PolicyInvalid) as caught:
        parse_policy(text, "p.yaml")
    (error,) = caught.value.errors
    assert (error.file, error.line, error.field) == (
        "p.yaml",
        text.splitlines().index(f"  missed_updates: {{after: 2, page: {paged}}}") + 1,
        "escalation.missed_updates.page",
    )
    assert error.message == message


def test_validate_refuses_a_manual_level_with_a_condition() -> None:
    text = POLICY.replace("PAGED", "Lead").replace(
        "      manual: true\n", "      manual: true\n      when: {at_declare: [SEV1]}\n"
    )
    with pytest.raises(PolicyInvalid) as caught:
        parse_policy(text, "p.yaml")
    (error,) = caught.value.errors
    assert (error.line, error.field) == (
        text.splitlines().index("      manual: true") + 2,
        "escalation.levels[2].when",
    )
    assert "a manual level is paged only by a person" in error.message


def test_validate_refuses_missed_updates_with_nag_limit() -> None:
    text = POLICY.replace("PAGED", "Lead").replace("escalation:\n", "escalation:\n  nag_limit: 2\n")
    with pytest.raises(PolicyInvalid) as caught:
        parse_policy(text, "p.yaml")
    assert "missed_updates or nag_limit, not both" in str(caught.value)
