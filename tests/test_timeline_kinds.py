"""Timeline kinds are one enum with one label table: none reads as another."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.incidents.timeline import TimelineKind, is_key, new_entry
from tests.harness import Bot
from tests.slack_server import FakeSlack

# The `incident` fixture: (slack, bot, incident channel id, the declarer).
Declared = tuple[FakeSlack, Bot, str, str]


def test_every_kind_has_its_own_label() -> None:
    labels = [k.label for k in TimelineKind]
    assert len(set(labels)) == len(labels)


async def test_a_bot_removed_line_reads_as_such_in_the_timeline(incident: Declared) -> None:
    _, bot, _, alice = incident
    reports = bot.services.reports
    entry = new_entry(
        1,
        TimelineKind.BOT_REMOVED,
        datetime(2026, 3, 14, 9, 40, tzinfo=UTC),
        "The bot was removed from the channel",
        author=alice,
    )
    assert is_key(entry)
    line = reports.line(entry, "UTC", with_date=False)
    assert line.startswith("09:40 · Bot removed"), line


def test_routine_kinds_are_not_key_events() -> None:
    at = datetime(2026, 3, 14, tzinfo=UTC)
    routine = {k for k in TimelineKind if not is_key(new_entry(1, k, at))}
    assert routine == {
        TimelineKind.NAG,
        TimelineKind.SNOOZE,
        TimelineKind.FOLLOW_REMINDER,
        TimelineKind.MESSAGE,
        TimelineKind.EDIT,
        TimelineKind.DELETION,
    }
