"""Business hours: a duration written "in business hours" counts only the policy's
working days and hours (its time zone, its holidays), in the planner and so in `serve`
and `simulate` alike."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.dryrun.simulate import simulate
from bot.policy import PolicyInvalid, parse_policy
from bot.policy.business_hours import BusinessHours
from bot.policy.durations import BusinessDelta, format_duration, parse_duration

H = timedelta(hours=1)
UTC_ZONE = ZoneInfo("UTC")

POLICY = """\
name: Testco
timezone: Europe/Paris
contacts:
  oncall: {user: U0ONCALL}
  lead: {user: U0LEAD}
severities:
  - name: SEV3
    label: Medium
    impact: Minor
    response_time: 2h in business hours
templates:
  announcement: "{severity} {title}"
escalation:
  levels:
    - name: On-call
      targets: [oncall]
      when: {at_declare: [SEV3]}
    - name: Lead
      targets: [lead]
      when: {not_acknowledged_within: response_time}
business_hours:
  days: [mon, tue, wed, thu, fri]
  hours: "09:00-17:00"
  holidays: [2026-01-19]
"""


def test_a_business_duration_reads_and_writes_back() -> None:
    d = parse_duration("2h in business hours")
    assert isinstance(d, BusinessDelta) and d == 2 * H
    assert format_duration(d) == "2h in business hours"
    assert not isinstance(parse_duration("2h"), BusinessDelta)


def test_business_hours_skip_nights_weekends_and_holidays() -> None:
    hours = BusinessHours(holidays=(date(2026, 1, 19),))
    friday_4pm = datetime(2026, 1, 16, 16, 0, tzinfo=UTC)
    # 1 h on Friday, Monday the 19th is a holiday: 1 h on Tuesday.
    assert hours.add(friday_4pm, 2 * H, UTC_ZONE) == datetime(2026, 1, 20, 10, 0, tzinfo=UTC)
    night = datetime(2026, 1, 14, 22, 0, tzinfo=UTC)  # Wednesday night: starts at 09:00
    assert hours.add(night, 30 * timedelta(minutes=1), UTC_ZONE) == datetime(
        2026, 1, 15, 9, 30, tzinfo=UTC
    )
    assert hours.contains(datetime(2026, 1, 15, 12, 0, tzinfo=UTC), UTC_ZONE)
    assert not hours.contains(datetime(2026, 1, 17, 12, 0, tzinfo=UTC), UTC_ZONE)  # Saturday


async def test_a_response_target_in_business_hours_waits_for_them() -> None:
    # Declared Thursday 2026-01-15 09:00 UTC = 10:00 in Paris: 2 business hours later.
    sim = await simulate(parse_policy(POLICY, "p.yaml"), silent_for=timedelta(days=6))
    lead = [e.at for e in sim.events if e.action == "post" and "to *Lead*" in e.text]
    assert lead == [sim.start + 2 * H]
    # Short days, Friday a holiday: 30 minutes on Thursday (10:00-10:30 in Paris), none
    # on Friday or the weekend, the other 1 h 30 on Monday: 10:30 in Paris, 09:30 UTC.
    short = POLICY.replace('"09:00-17:00"', '"09:00-10:30"').replace("2026-01-19", "2026-01-16")
    sim = await simulate(parse_policy(short, "p.yaml"), silent_for=timedelta(days=6))
    lead = [e.at for e in sim.events if e.action == "post" and "to *Lead*" in e.text]
    assert lead == [datetime(2026, 1, 19, 9, 30, tzinfo=UTC)]


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        (
            'business_hours:\n  days: [mon, tue, wed, thu, fri]\n  hours: "09:00-17:00"\n'
            "  holidays: [2026-01-19]\n",
            "",
            "severities[0].response_time",
            "counts business hours, but the policy declares no business_hours",
        ),
        ('hours: "09:00-17:00"', 'hours: "17:00-09:00"', "business_hours.hours", "opening hours"),
        ("days: [mon,", "days: [monday,", "business_hours.days", "days are mon, tue"),
    ],
)
def test_validate_refuses_business_hours_mistakes(
    old: str, new: str, field: str, message: str
) -> None:
    with pytest.raises(PolicyInvalid) as caught:
        parse_policy(POLICY.replace(old, new), "p.yaml")
    (error,) = caught.value.errors
    assert error.field == field and message in error.message
    assert error.line is not None
