"""Reminder lateness with many open incidents, resident memory, catch-up after a restart.

    python -m bench.reminders [--incidents 10000]

Writes N open incidents (with their due rows, through the same replan as `serve`)
straight into a SQLite store, their reminders falling due over the next 20 seconds;
starts the real bot (`python -m bot serve`) against the fake Slack server and measures
how late each reminder reaches Slack (the message's ts minus the row's due time) and
the process's resident memory. Then stops it, stays down until every incident's next
reminder is due, restarts it and measures how long it takes to send them all, once.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.report import report  # noqa: E402
from bot import clocks  # noqa: E402
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
  - {name: SEV1, label: Critical, impact: Outage, update_every: 30s}
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
    spread: float,
    commander: str,
) -> dict[str, datetime]:
    """n incidents whose first reminder falls due between start and start + spread."""
    loaded = load_policy(policy_path)
    store = Store(make_engine(db))
    await migrate(store.engine)
    due: dict[str, datetime] = {}
    batch = 500
    for first in range(0, n, batch):
        async with store.session() as s:
            for i in range(first, min(n, first + batch)):
                ch = slack.add_channel(f"incident-bench-{i}", members=[slack.bot_user_id])
                at = start + timedelta(seconds=spread * i / n)
                declared = at - timedelta(seconds=30)
                inc = Incident(
                    title=f"bench {i}",
                    severity="SEV1",
                    status="investigating",
                    channel_id=ch,
                    channel_name=f"incident-bench-{i}",
                    commander_id=commander,
                    declared_by=commander,
                    policy_version=loaded.version,
                    declared_at=declared,
                    severity_since=declared,
                )
                s.add(inc)
                await s.flush()
                await clocks.replan(s, inc, loaded.policy, declared)
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


async def run(n: int) -> dict[str, Any]:
    async with FakeSlack.from_manifest(ROOT / "manifest.yml") as slack:
        commander = slack.add_user("commander")
        with tempfile.TemporaryDirectory() as tmp:
            policy = Path(tmp) / "bench.yaml"
            policy.write_text(POLICY)
            db = f"sqlite+aiosqlite:///{tmp}/bench.db"
            # Lead time: seeding (~2.5 ms an incident here) and the bot's start come first.
            t0 = datetime.now(UTC) + timedelta(seconds=15 + n / 250)
            seeding = time.perf_counter()
            due = await seed(db, slack, policy, n, t0, 20.0, commander)
            seeded_s = time.perf_counter() - seeding
            bot = BotProcess(slack, db, policy, Path(tmp) / "bot.log")
            print(
                f"seeded {n} in {seeded_s:.1f}s; first due in "
                f"{(t0 - datetime.now(UTC)).total_seconds():.1f}s",
                file=sys.stderr,
            )
            try:
                await bot.ready()
                await eventually(lambda: len(lateness(slack, due)) >= n, within=600)
                late = lateness(slack, due)
                rss = rss_mb(bot.proc.pid)
            finally:
                bot.stop()
            # Down until every incident's second reminder (30 s after its first) is due.
            last_first = max(float(m.ts) for ch in due for m in slack.channels[ch].messages)
            await asyncio.sleep(max(0.0, last_first + 31 - time.time()))
            before = {ch: len(slack.channels[ch].messages) for ch in due}
            bot = BotProcess(slack, db, policy, Path(tmp) / "bot2.log")
            start = time.perf_counter()
            try:
                await bot.ready()
                ready_s = time.perf_counter() - start

                def caught_up() -> bool:
                    sent = sum(1 for ch in due if len(slack.channels[ch].messages) > before[ch])
                    return sent >= len(due)

                await eventually(caught_up, within=600)
                catch_up_s = time.perf_counter() - start
            finally:
                bot.stop()
    late_sorted = sorted(late)
    return {
        "open_incidents": n,
        "seeding_s": round(seeded_s, 1),
        "reminders_measured": len(late),
        "lateness_p50_s": round(statistics.median(late_sorted), 3),
        "lateness_p99_s": round(late_sorted[int(0.99 * (len(late_sorted) - 1))], 3),
        "lateness_max_s": round(late_sorted[-1], 3),
        "resident_memory_mb": round(rss, 1),
        "overdue_at_restart": n,
        "restart_to_ready_s": round(ready_s, 2),
        "restart_to_all_overdue_sent_s": round(catch_up_s, 2),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--incidents", type=int, default=10_000)
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    result = asyncio.run(run(args.incidents))
    report(result, args.json)


if __name__ == "__main__":
    main()
