"""Reminder lateness with many open incidents, resident memory, catch-up after a restart.

    python -m bench.reminders [--incidents 10000] [--cadence 600] [--window 60] [--down 30]

Writes N open incidents (with their due rows, through the same replan as `serve`)
straight into a SQLite store (or DATABASE_URL given with --db), each reminded every
`cadence` seconds, their next reminders spread evenly over one cadence: the steady
load of N open incidents (10,000 every 10 minutes: 17 reminders a second). Starts the
real bot (`python -m bot serve`) against the fake Slack server and measures, over
`window` seconds, how late each reminder reaches Slack (the message's ts minus the
row's due time) and the process's resident memory. Then stops it for `down` seconds
and measures how long the restarted bot takes to send every reminder that fell due
meanwhile, once.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.report import report  # noqa: E402
from bot.planning import due_jobs  # noqa: E402
from bot.policy.loader import load_policy  # noqa: E402
from bot.store.engine import make_engine, migrate  # noqa: E402
from bot.store.repo import Store  # noqa: E402
from bot.store.tables import Incident  # noqa: E402
from tests.harness import eventually  # noqa: E402
from tests.processes import BotProcess  # noqa: E402
from tests.slack_server import FakeSlack  # noqa: E402

POLICY = """\
name: Bench
channel: {pattern: "incident-{date}-{slug}", announce: null}
severities:
  - {name: SEV1, label: Critical, impact: Outage, update_every: %ds}
templates: {announcement: "{title}", nag: "{number} is due a status update"}
"""


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def seed(
    db: str,
    slack: FakeSlack,
    policy_path: Path,
    n: int,
    start: datetime,
    cadence: float,
    commander: str | list[str],
) -> dict[str, datetime]:
    """n incidents whose next reminder falls due between start and start + cadence;
    `commander`: one person, or a list the incidents take in turn."""
    commanders = [commander] if isinstance(commander, str) else commander
    loaded = load_policy(policy_path)
    store = Store(make_engine(db))
    await migrate(store.engine)
    due: dict[str, datetime] = {}
    batch = 500
    for first in range(0, n, batch):
        async with store.session() as s:
            for i in range(first, min(n, first + batch)):
                ch = slack.add_channel(f"incident-bench-{i}", members=[slack.bot_user_id])
                at = start + timedelta(seconds=cadence * i / n)
                declared = at - timedelta(seconds=cadence)
                inc = Incident(
                    title=f"bench {i}",
                    severity="SEV1",
                    status="investigating",
                    channel_id=ch,
                    channel_name=f"incident-bench-{i}",
                    commander_id=commanders[i % len(commanders)],
                    declared_by=commanders[i % len(commanders)],
                    policy_version=loaded.version,
                    declared_at=declared,
                    severity_since=declared,
                )
                s.add(inc)
                await s.flush()
                await due_jobs.replan(s, inc, loaded.policy, declared)
                due[ch] = at
            await s.commit()
    await store.close()
    return due


def lateness(slack: FakeSlack, due: dict[str, datetime]) -> list[float]:
    out = []
    for ch, at in due.items():
        nags = [m for m in slack.channels[ch].messages if "due a status update" in m.text]
        if nags:
            out.append(float(nags[0].ts) - at.timestamp())
    return out


def first_nag(slack: FakeSlack, ch: str) -> float | None:
    for m in slack.channels[ch].messages:
        if "due a status update" in m.text:
            return float(m.ts)
    return None


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[int(q * (len(ordered) - 1))], 3)


async def run(
    n: int, cadence: int = 600, window: float = 60.0, down: float = 30.0, db: str | None = None
) -> dict[str, Any]:
    async with FakeSlack.from_manifest(ROOT / "manifest.yml") as slack:
        commander = slack.add_user("commander")
        with tempfile.TemporaryDirectory() as tmp:
            policy = Path(tmp) / "bench.yaml"
            policy.write_text(POLICY % cadence)
            db = db or f"sqlite+aiosqlite:///{tmp}/bench.db"
            # Lead time: seeding (~2.5 ms an incident here) and the bot's start come first.
            t0 = datetime.now(UTC) + timedelta(seconds=15 + n / 250)
            seeding = time.perf_counter()
            due = await seed(db, slack, policy, n, t0, cadence, commander)
            seeded_s = time.perf_counter() - seeding
            in_window = {ch: at for ch, at in due.items() if at <= t0 + timedelta(seconds=window)}
            bot = BotProcess(slack, db, policy, Path(tmp) / "bot.log")
            print(
                f"seeded {n} in {seeded_s:.1f}s; {len(in_window)} reminders due in the "
                f"{window:.0f}s window, first in {(t0 - datetime.now(UTC)).total_seconds():.1f}s",
                file=sys.stderr,
            )
            try:
                await bot.ready()
                await eventually(
                    lambda: all(first_nag(slack, ch) for ch in in_window), within=window + 600
                )
                late = [
                    (first_nag(slack, ch) or 0.0) - at.timestamp() for ch, at in in_window.items()
                ]
                rss = rss_mb(bot.proc.pid)
            finally:
                bot.stop()
            stopped = datetime.now(UTC)
            await asyncio.sleep(down)
            restarted = datetime.now(UTC)
            overdue = [ch for ch, at in due.items() if stopped < at <= restarted]
            assert all(first_nag(slack, ch) is None for ch in overdue)
            bot = BotProcess(slack, db, policy, Path(tmp) / "bot2.log")
            start = time.perf_counter()
            try:
                await bot.ready()
                ready_s = time.perf_counter() - start
                await eventually(lambda: all(first_nag(slack, ch) for ch in overdue), within=600)
                catch_up_s = time.perf_counter() - start
            finally:
                bot.stop()
            duplicates = sum(
                sum("due a status update" in m.text for m in slack.channels[ch].messages) > 1
                for ch in due
            )
    return {
        "open_incidents": n,
        "cadence_s": cadence,
        "reminders_per_s": round(n / cadence, 1),
        "seeding_s": round(seeded_s, 1),
        "reminders_measured": len(late),
        "lateness_p50_s": pct(late, 0.5),
        "lateness_p99_s": pct(late, 0.99),
        "lateness_max_s": round(max(late), 3),
        "resident_memory_mb": round(rss, 1),
        "down_s": down,
        "overdue_at_restart": len(overdue),
        "restart_to_ready_s": round(ready_s, 2),
        "restart_to_all_overdue_sent_s": round(catch_up_s, 2),
        "duplicate_reminders": duplicates,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--incidents", type=int, default=10_000)
    p.add_argument("--cadence", type=int, default=600, help="seconds between reminders")
    p.add_argument("--window", type=float, default=60.0, help="seconds measured")
    p.add_argument("--down", type=float, default=30.0, help="seconds down before the restart")
    p.add_argument("--db", help="a DATABASE_URL (e.g. PostgreSQL) instead of a SQLite file")
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    result = asyncio.run(run(args.incidents, args.cadence, args.window, args.down, args.db))
    report(result, args.json)


if __name__ == "__main__":
    main()
