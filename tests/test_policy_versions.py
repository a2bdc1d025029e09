"""An incident keeps the policy it started with; a changed file is taken only once valid."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.clock import VirtualClock
from tests.harness import ROOT, Bot, eventually, start_bot
from tests.helpers import add_test_team, pending_jobs
from tests.slack_server import FakeSlack

T0 = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)


async def nag_times(bot: Bot, incident_id: int) -> list[str]:
    return [d.strftime("%H:%M") for d in await pending_jobs(bot, "nag", incident_id)]


async def test_open_incidents_keep_their_policy_when_the_file_changes(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    original = (ROOT / "tests/policies/test.yaml").read_text()
    policy.write_text(original)
    async with FakeSlack.from_manifest(ROOT / "manifest.yml") as slack:
        alice, general = add_test_team(slack)
        clock = VirtualClock(T0)
        db = f"sqlite+aiosqlite:///{tmp_path}/b.db"
        bot = await start_bot(slack, db, policy=policy, clock=clock)
        try:
            await bot.send.command("SEV2 Old rules", user=alice, channel=general)
            await eventually(lambda: slack.responses)
            assert await nag_times(bot, 1) == ["10:00"]

            # A broken edit is refused: the bot keeps the version it has.
            policy.write_text(original.replace("update_every: 30m", "update_every: soon"))
            assert await bot.services.policy.reload() is False
            # A valid edit: SEV2 now every 5 minutes.
            policy.write_text(original.replace("update_every: 30m", "update_every: 5m"))
            assert await bot.services.policy.reload() is True

            clock.set(T0 + timedelta(minutes=30))
            await bot.services.scheduler.run_due()
            assert await nag_times(bot, 1) == ["10:30"], "INC-1 keeps its 30-minute cadence"

            await bot.send.command("SEV2 New rules", user=alice, channel=general)
            await eventually(lambda: len(slack.responses) == 2)
            assert await nag_times(bot, 2) == ["10:05"], "a new incident takes the new policy"
        finally:
            await bot.stop()

        # A fresh replica started on the new file rebuilds INC-1's policy from the store.
        other = await start_bot(slack, db, policy=policy, clock=clock)
        try:
            clock.set(T0 + timedelta(minutes=60))
            await other.services.scheduler.run_due()
            assert await nag_times(other, 1) == ["11:00"]
        finally:
            await other.stop()


async def test_in_incident_commands_speak_the_incidents_own_policy(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    original = (ROOT / "tests/policies/test.yaml").read_text()
    policy.write_text(original)
    async with FakeSlack.from_manifest(ROOT / "manifest.yml") as slack:
        alice, general = add_test_team(slack)
        bot = await start_bot(
            slack, f"sqlite+aiosqlite:///{tmp_path}/b.db", policy=policy, clock=VirtualClock(T0)
        )
        try:
            await bot.send.command("SEV2 Old names", user=alice, channel=general)
            ch = await eventually(lambda: slack.channel_by_name("incident-20260314-old-names"))
            await eventually(lambda: slack.responses)
            # The new version drops the alias P1.
            policy.write_text(original.replace("aliases: [P1, critical]", "aliases: [critical]"))
            assert await bot.services.policy.reload() is True

            r = await bot.send.command("severity P1", user=alice, channel=ch.id)
            assert r.status == 200
            answer = r.json()  # committed, then acknowledged with the confirmation
            assert answer is not None and "Severity is now SEV1" in answer["text"], r.body
            # A new declaration takes the new version, which has no P1.
            r = await bot.send.command("P1 New names", user=alice, channel=general)
            answer = r.json()
            assert answer is not None and "Unknown severity" in answer["text"]
        finally:
            await bot.stop()
