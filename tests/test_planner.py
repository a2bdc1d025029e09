"""The pure planner against the runbooks' rules, on plain datetimes (no clock, no I/O)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.planning.planner import ClockState, Due, Kind, Page, Reason, next_level, plan
from bot.policy.loader import load_policy
from bot.policy.model import Policy

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
M = timedelta(minutes=1)
H = timedelta(hours=1)

DEFAULT = load_policy(ROOT / "policies/default.yaml").policy  # runbook 000
CLOCKS = load_policy(ROOT / "tests/policies/clocks.yaml").policy  # runbook 001's chain


def state(severity: str, **kw: object) -> ClockState:
    return ClockState(severity=severity, declared_at=T0, severity_since=T0, **kw)  # type: ignore[arg-type]


def escalations(dues: list[Due]) -> dict[int, tuple[datetime, Reason]]:
    return {
        d.level: (d.due_at, d.reason)
        for d in dues
        if d.kind is Kind.ESCALATE and d.level is not None
    }


def nag(dues: list[Due]) -> datetime | None:
    return next((d.due_at for d in dues if d.kind is Kind.NAG), None)


def test_runbook_000_p2_goes_to_the_next_level_after_an_hour() -> None:
    dues = plan(state("P2"), DEFAULT)
    assert escalations(dues) == {
        0: (T0, Reason.AT_DECLARE),
        1: (T0, Reason.AT_DECLARE),
        2: (T0 + H, Reason.UNRESOLVED),
    }
    assert nag(dues) == T0 + 30 * M


def test_runbook_000_p3_escalates_after_4h_and_p1_at_once() -> None:
    assert escalations(plan(state("P3"), DEFAULT))[2] == (T0 + 4 * H, Reason.UNRESOLVED)
    assert escalations(plan(state("P3"), DEFAULT))[1] == (T0 + 30 * M, Reason.UNRESOLVED)
    p1 = escalations(plan(state("P1"), DEFAULT))
    assert {lvl: when for lvl, (when, _) in p1.items()} == {0: T0, 1: T0, 2: T0}
    assert nag(plan(state("P1"), DEFAULT)) == T0 + 15 * M


def test_runbook_000_p4_has_no_reminders_and_no_escalation() -> None:
    assert plan(state("P4"), DEFAULT) == []


def test_runbook_001_secondary_after_5_minutes_without_ack_then_manager() -> None:
    s = state("SEV-1")
    assert escalations(plan(s, CLOCKS))[0] == (T0, Reason.AT_DECLARE)
    s = replace(s, pages={0: Page(T0, T0)})
    e = escalations(plan(s, CLOCKS))
    assert e[1] == (T0 + 5 * M, Reason.NOT_ACKED)
    assert 2 not in e, "the manager waits for the secondary to be paged"
    s = replace(s, pages={0: Page(T0, T0), 1: Page(T0 + 5 * M, T0 + 5 * M)})
    assert escalations(plan(s, CLOCKS))[2] == (T0 + 10 * M, Reason.NOT_ACKED)
    assert escalations(plan(s, CLOCKS))[3] == (T0 + 2 * H, Reason.UNRESOLVED)


def test_an_ack_stops_the_next_levels_timer() -> None:
    s = state("SEV-1", pages={0: Page(T0, T0, acked_at=T0 + 2 * M)})
    e = escalations(plan(s, CLOCKS))
    assert 1 not in e
    assert e[3] == (T0 + 2 * H, Reason.UNRESOLVED), "unresolved-after runs until resolved"


def test_cto_only_for_sev1() -> None:
    assert 3 not in escalations(plan(state("SEV-2", pages={0: Page(T0, T0, T0)}), CLOCKS))


def test_nag_cadence_counts_from_the_last_update_or_nag() -> None:
    assert nag(plan(state("SEV-1", last_update_at=T0 + 20 * M), CLOCKS)) == T0 + 35 * M
    # A nag sent late (the bot was down) is followed one cadence after it was sent.
    assert nag(plan(state("SEV-1", last_nag_at=T0 + 3 * H), CLOCKS)) == T0 + 3 * H + 15 * M


def test_snooze_delays_one_nag_without_changing_the_cadence() -> None:
    s = state("SEV-1", snoozed_until=T0 + 45 * M)
    assert nag(plan(s, CLOCKS)) == T0 + 45 * M
    # A snooze shorter than the cadence does not bring the nag forward.
    assert nag(plan(state("SEV-1", snoozed_until=T0 + 5 * M), CLOCKS)) == T0 + 15 * M


def test_ignored_nags_escalate_after_the_policy_limit() -> None:
    paged = {0: Page(T0, T0, T0)}
    one = state("SEV-1", last_nag_at=T0 + 15 * M, nags_since_update=1, pages=paged)
    assert all(d.reason is not Reason.IGNORED_NAGS for d in plan(one, CLOCKS))
    two = replace(one, last_nag_at=T0 + 30 * M, nags_since_update=2)
    e = escalations(plan(two, CLOCKS))
    assert e[1] == (T0 + 30 * M, Reason.IGNORED_NAGS)
    # Once that level is paged for it, the next climb waits for two more ignored nags.
    climbed = replace(two, nag_escalations=1, pages={**paged, 1: Page(T0 + 30 * M, T0 + 30 * M)})
    assert all(d.reason is not Reason.IGNORED_NAGS for d in plan(climbed, CLOCKS))


def test_resolved_plans_nothing_and_severity_change_replans() -> None:
    assert plan(state("SEV-1", resolved=True), CLOCKS) == []
    later = T0 + 50 * M
    s = ClockState(severity="SEV-2", declared_at=T0, severity_since=later)
    assert escalations(plan(s, CLOCKS))[0] == (later, Reason.AT_DECLARE)
    assert nag(plan(s, CLOCKS)) == T0 + 30 * M


def test_manual_escalation_picks_the_first_unpaged_level() -> None:
    assert next_level(state("SEV-4"), CLOCKS) == 0
    assert next_level(state("SEV-4", pages={0: Page(T0, T0), 1: Page(T0, T0)}), CLOCKS) == 2
    full = {i: Page(T0, T0) for i in range(4)}
    assert next_level(state("SEV-4", pages=full), CLOCKS) is None


def test_repeat_every_repages_until_acked(tmp_path: Path) -> None:
    text = (
        (ROOT / "tests/policies/clocks.yaml")
        .read_text()
        .replace(
            "      targets: [primary]\n", "      targets: [primary]\n      repeat_every: 10m\n"
        )
    )
    (tmp_path / "p.yaml").write_text(text)
    pol: Policy = load_policy(tmp_path / "p.yaml").policy
    s = state("SEV-1", pages={0: Page(T0, T0 + 10 * M)})
    assert any(d.reason is Reason.REPEAT and d.due_at == T0 + 20 * M for d in plan(s, pol))
    acked = state("SEV-1", pages={0: Page(T0, T0 + 10 * M, T0 + 11 * M)})
    assert all(d.reason is not Reason.REPEAT for d in plan(acked, pol))
