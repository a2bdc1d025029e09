"""Who is on call when (bot/planning/oncall.py): weekly and daily hand-offs in a time
zone, across DST changes, overrides inside their window only, restrictions; and the
policy's checks of schedules."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.planning.coverage import schedule_warnings
from bot.planning.oncall import Cover, Rota, parse_local
from bot.policy import PolicyInvalid
from bot.policy.loader import load_policy, parse_policy
from bot.policy.model import Policy
from tests.harness import ROOT

POLICY = ROOT / "tests/policies/oncall.yaml"


@pytest.fixture
def policy() -> Policy:
    return load_policy(POLICY).policy


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_weekly_handoff_on_monday_nine_local(policy: Policy) -> None:
    rota = Rota(policy, "oncall")
    # Paris is UTC+1 in March before the 29th: 09:00 local is 08:00 UTC.
    assert rota.who(utc("2026-03-23T07:59")) == ("primary", "U0ANA")
    assert rota.who(utc("2026-03-23T08:00")) == ("primary", "U0BEN")
    assert rota.who(utc("2026-03-23T08:00"), "secondary") == ("secondary", "U0ANA")
    # Three participants: the fourth week is the first one's again.
    assert rota.who(utc("2026-04-06T07:00")) == ("primary", "U0ANA")
    # Before the first shift nobody is on call.
    assert rota.who(utc("2026-03-16T07:59")) is None


def test_spring_forward_keeps_the_handoff_at_nine_local(policy: Policy) -> None:
    rota = Rota(policy, "oncall")
    # DST began on Sunday 29 March: Monday 30 March 09:00 Paris is 07:00 UTC, so Ben's
    # shift was an hour short, and 08:00 UTC (10:00 local) is already Cara's.
    assert rota.who(utc("2026-03-30T06:59")) == ("primary", "U0BEN")
    assert rota.who(utc("2026-03-30T07:00")) == ("primary", "U0CARA")
    shift = rota.now_and_next(rota.layer("primary"), utc("2026-03-29T12:00"))
    assert shift.user == "U0BEN" and shift.next_user == "U0CARA"
    assert shift.until == utc("2026-03-30T07:00")


def test_fall_back_keeps_the_handoff_at_nine_local(policy: Policy) -> None:
    rota = Rota(policy, "oncall")
    # DST ended on Sunday 25 October: Monday 26 October 09:00 Paris is 08:00 UTC again.
    assert rota.who(utc("2026-10-26T07:00")) == ("primary", "U0BEN")
    assert rota.who(utc("2026-10-26T07:59")) == ("primary", "U0BEN")
    assert rota.who(utc("2026-10-26T08:00")) == ("primary", "U0CARA")


def test_daily_handoff_in_the_hour_that_does_not_exist() -> None:
    text = POLICY.read_text().replace('"daily 09:00"', '"daily 02:30"')
    rota = Rota(parse_policy(text).policy, "office")
    night = rota.layer("night")
    # 29 March 02:30 Paris does not exist (02:00 -> 03:00): that day's hand-off happens
    # when the clocks jump, and every shift still belongs to exactly one day.
    before = rota.shift_index(night, utc("2026-03-29T00:59"))
    assert rota.shift_index(night, utc("2026-03-29T01:31")) == before + 1
    assert rota.shift_index(night, utc("2026-03-30T00:29")) == before + 1
    assert rota.shift_index(night, utc("2026-03-30T00:30")) == before + 2


def test_an_override_wins_inside_its_window_only(policy: Policy) -> None:
    rota = Rota(policy, "oncall")
    # Ben's week; the policy's override: the manager from 24 December 18:00 to 26
    # December 09:00 (Paris, UTC+1).
    assert rota.who(utc("2026-12-24T16:59")) == ("primary", "U0BEN")
    assert rota.who(utc("2026-12-24T17:00")) == ("primary", "U0MANAGER")
    assert rota.who(utc("2026-12-26T07:59")) == ("primary", "U0MANAGER")
    assert rota.who(utc("2026-12-26T08:00")) == ("primary", "U0BEN")
    # The secondary layer is not overridden.
    assert rota.who(utc("2026-12-25T12:00"), "secondary") == ("secondary", "U0ANA")
    # A stored override (from /incident oncall override) wins over the policy's.
    stored = Cover("primary", "U0CARA", utc("2026-12-25T00:00"), utc("2026-12-25T12:00"))
    rota = Rota(policy, "oncall", [stored])
    assert rota.who(utc("2026-12-24T23:59")) == ("primary", "U0MANAGER")
    assert rota.who(utc("2026-12-25T00:00")) == ("primary", "U0CARA")
    assert rota.who(utc("2026-12-25T12:00")) == ("primary", "U0MANAGER")
    nxt = rota.next_change(rota.layer("primary"), utc("2026-12-25T06:00"))
    assert nxt == (utc("2026-12-25T12:00"), "U0MANAGER")


def test_a_restricted_layer_is_empty_outside_its_hours(policy: Policy) -> None:
    rota = Rota(policy, "office")
    # Weekdays 09:00-18:00 Paris: Ben; otherwise the next layer, Cara.
    assert rota.who(utc("2026-06-01T07:00")) == ("day", "U0BEN")  # Monday 09:00 CEST
    assert rota.who(utc("2026-06-01T06:59")) == ("night", "U0CARA")
    assert rota.who(utc("2026-06-01T16:00")) == ("night", "U0CARA")  # 18:00 CEST
    assert rota.who(utc("2026-06-06T10:00")) == ("night", "U0CARA")  # Saturday
    assert rota.who(utc("2026-06-06T10:00"), "day") is None
    change = rota.next_change(rota.layer("day"), utc("2026-06-05T12:00"))  # Friday
    assert change == (utc("2026-06-05T16:00"), None)
    change = rota.next_change(rota.layer("day"), utc("2026-06-05T17:00"))
    assert change == (utc("2026-06-08T07:00"), "U0BEN")  # Monday morning


RESTRICT = (
    'restrict: {days: [Monday, Tuesday, Wednesday, Thursday, Friday], start: "09:00", end: "18:00"}'
)
BUSINESS = (
    "business_hours: {days: [mon, tue, wed, thu, fri], hours: 09:00-17:00, holidays: [2026-06-03]}"
)


def test_a_business_hours_restriction_follows_the_policys_business_hours() -> None:
    """`restrict: {business_hours: true}`: the policy's hours (issue 14's BusinessHours),
    its holidays too, and the hand-offs at its opening and closing."""
    text = POLICY.read_text()
    assert RESTRICT in text
    text = text.replace(RESTRICT, "restrict: {business_hours: true}") + BUSINESS + "\n"
    rota = Rota(parse_policy(text, "oncall.yaml").policy, "office")
    assert rota.who(utc("2026-06-01T07:00")) == ("day", "U0BEN")  # Monday 09:00 CEST
    assert rota.who(utc("2026-06-01T06:59")) == ("night", "U0CARA")
    assert rota.who(utc("2026-06-01T15:00")) == ("night", "U0CARA")  # 17:00: closed
    assert rota.who(utc("2026-06-03T10:00")) == ("night", "U0CARA")  # the holiday
    assert rota.who(utc("2026-06-04T10:00")) == ("day", "U0BEN")
    day = rota.layer("day")
    assert rota.next_change(day, utc("2026-06-01T12:00")) == (utc("2026-06-01T15:00"), None)
    # After Tuesday's close, the holiday is skipped: Thursday's opening.
    assert rota.next_change(day, utc("2026-06-02T16:00")) == (utc("2026-06-04T07:00"), "U0BEN")


@pytest.mark.parametrize(
    ("restrict", "business", "where", "says"),
    [
        (
            "restrict: {business_hours: true}",
            "",
            "schedules.office.layers[0].restrict.business_hours",
            "no business_hours section",
        ),
        (
            'restrict: {business_hours: true, end: "18:00"}',
            BUSINESS,
            "schedules.office.layers[0].restrict",
            "remove end",
        ),
    ],
)
def test_a_business_hours_restriction_needs_them_and_nothing_else(
    restrict: str, business: str, where: str, says: str
) -> None:
    text = POLICY.read_text().replace(RESTRICT, restrict) + business + "\n"
    with pytest.raises(PolicyInvalid) as info:
        parse_policy(text, "oncall.yaml")
    message = str(info.value)
    assert where in message and says in message, message


def test_parse_local_reads_the_schedule_zone(policy: Policy) -> None:
    tz = Rota(policy, "oncall").tz
    assert parse_local("2026-12-07T08:30", tz) == utc("2026-12-07T07:30")
    assert parse_local("2026-12-07", tz) == utc("2026-12-06T23:00")
    assert parse_local("2026-07-07 08:30", tz) - utc("2026-07-07T06:30") == timedelta(0)
    with pytest.raises(ValueError):
        parse_local("tomorrow", tz)


@pytest.mark.parametrize(
    ("old", "new", "where", "says"),
    [
        (
            "layer: secondary}",
            "layer: tertiary}",
            "contacts.secondary.layer",
            'no layer "tertiary"',
        ),
        ("{schedule: office}", "{schedule: ofice}", "contacts.daytime.schedule", '"office"'),
        (
            "[ana, U0BEN, U0CARA]",
            "[]",
            "schedules.oncall.layers[0].participants",
            "no participants",
        ),
        ("[ana, U0BEN, U0CARA]", "[anna]", "participants[0]", 'did you mean "ana"'),
        ("[ana, U0BEN, U0CARA]", "[pager]", "participants[0]", "is a pagerduty, not a user"),
        ('"weekly, Monday 09:00"', '"weekly 09:00"', "handoff", "does not say the day"),
        ('"weekly, Monday 09:00"', '"monthly"', "handoff", '"daily 09:00" or "weekly'),
        ('end: "2026-12-26T09:00"', 'end: "2026-12-23T09:00"', "overrides[0]", "end must be after"),
        ("routing_key_env: TEST_PD_KEY", "routing_key_env: abc123", "pagerduty", "environment"),
        ("{schedule: office}", "{schedule: office, user: U0ANA}", "daytime", "exactly one"),
    ],
)
def test_schedule_mistakes_name_the_field(old: str, new: str, where: str, says: str) -> None:
    text = POLICY.read_text()
    assert old in text
    with pytest.raises(PolicyInvalid) as info:
        parse_policy(text.replace(old, new, 1), "oncall.yaml")
    message = str(info.value)
    assert where in message and says in message, message


def test_simulate_at_pages_who_is_on_call_then() -> None:
    """`simulate --at` (the policy's time zone, Paris): 08:30 on the hand-off Monday
    pages Ben, 09:30 Cara; the paging services are shown, never called."""
    base = [sys.executable, "-m", "bot", "simulate", "--policy", str(POLICY), "--silent-for", "1m"]

    def run(*more: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*base, *more], cwd=ROOT, capture_output=True, text=True, timeout=60)

    before = run("--at", "2026-03-30T08:30")
    assert before.returncode == 0, before.stderr
    assert "dm      @U0BEN: :rotating_light: You are paged" in before.stdout
    assert "trigger pagerduty `pager`: INC-1 (SEV-1)" in before.stdout
    after = run("--at", "2026-03-30T09:30")
    assert "dm      @U0CARA: :rotating_light: You are paged" in after.stdout
    assert "@U0BEN: :rotating_light: You are paged" not in after.stdout
    bad = run("--at", "next monday")
    assert bad.returncode == 2 and "2026-12-07T08:30" in bad.stderr


def test_validate_warns_of_gaps_and_of_overrides_that_replace_nobody(tmp_path: Path) -> None:
    text = POLICY.read_text()
    assert not schedule_warnings(parse_policy(text).policy, utc("2026-06-01T00:00"))
    # Without its night layer, the office schedule has nobody outside business hours.
    no_night = text.split("      - name: night")[0] + text[text.index("severities:") :]
    stale = no_night.replace('start: "2026-12-24T18:00"', 'start: "2025-12-24T18:00"')
    stale = stale.replace('end: "2026-12-26T09:00"', 'end: "2025-12-26T09:00"')
    found = schedule_warnings(parse_policy(stale).policy, utc("2026-06-01T00:00"))
    assert found == [
        "schedules.oncall.overrides[0]: ends before layer 'primary' starts (2026-03-16):"
        " it replaces nobody",
        "schedules.office: nobody is on call from Mon 01 Jun 2026 02:00 CEST until Mon 01 Jun"
        " 2026 09:00 CEST (a gap in coverage: pages to it reach no one); add a layer around"
        " the clock, or widen a restriction",
    ]
    path = tmp_path / "no-night.yaml"
    path.write_text(stale)
    r = subprocess.run(
        [sys.executable, "-m", "bot", "validate", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0 and ": ok (" in r.stdout
    assert "warning: schedules.office: nobody is on call" in r.stderr
