"""Catch-up: how many overdue reminders a second the bot sends after a restart.

    python -m bench.catchup [--incidents 10000] [--db DATABASE_URL] [--workers 2]
                            [--profile FILE]

Writes N open incidents whose next reminder fell due over the last ten minutes (the
bot was down), their commanders 200 people taken in turn, then starts the bot
(`serve --role all` on the SQLite default; with --db, `--workers` processes of
`serve --role worker` on that database) against the fake Slack server with its rate
limits off, and measures the time from ready to the last reminder in Slack: reminders
(each a channel post and a DM) a second, and that each went out once (by the step key in
its metadata). --profile runs the first process under cProfile and prints where it spent
its time.
"""

from __future__ import annotations

import argparse
import asyncio
import pstats
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from bench.reminders import POLICY, seed  # noqa: E402
from bench.report import report  # noqa: E402
from tests.crash_harness import all_messages, step_of  # noqa: E402
from tests.harness import eventually  # noqa: E402
from tests.processes import BotProcess  # noqa: E402
from tests.slack_server import FakeSlack  # noqa: E402

OVERDUE_OVER = 600  # seconds: the reminders fell due over the last ten minutes
COMMANDERS = 200
NAG = "due a status update"


def channel_nags(slack: FakeSlack, due: dict[str, datetime]) -> int:
    return sum(any(NAG in m.text for m in slack.channels[ch].messages) for ch in due)


async def run(
    n: int, db: str | None = None, workers: int = 2, profile: Path | None = None
) -> dict[str, Any]:
    async with FakeSlack.from_manifest(ROOT / "manifest.yml") as slack:
        commanders = [slack.add_user(f"commander{i}") for i in range(COMMANDERS)]
        with tempfile.TemporaryDirectory() as tmp:
            policy = Path(tmp) / "bench.yaml"
            # Reminded every ten minutes, and the last reminders fell due over ten minutes.
            policy.write_text(POLICY % OVERDUE_OVER)
            store = "postgresql" if db else "sqlite"
            db = db or f"sqlite+aiosqlite:///{tmp}/bench.db"
            started = time.perf_counter()
            # Due between 11 and 1 minutes ago, each incident's next reminder.
            first_due = datetime.now(UTC) - timedelta(seconds=OVERDUE_OVER + 60)
            due = await seed(db, slack, policy, n, first_due, OVERDUE_OVER, commanders)
            due = {ch: at for ch, at in due.items() if at <= datetime.now(UTC)}
            seeded_s = time.perf_counter() - started
            print(f"seeded {n} incidents in {seeded_s:.1f}s", file=sys.stderr)
            roles = ["all"] if store == "sqlite" else ["worker"] * workers
            profiled = ("-m", "cProfile", "-o", str(profile)) if profile else ()
            procs = [
                BotProcess(
                    slack,
                    db,
                    policy,
                    Path(tmp) / f"bot{i}.log",
                    role=role,
                    python_args=profiled if i == 0 else (),
                )
                for i, role in enumerate(roles)
            ]
            try:
                start = time.perf_counter()
                await asyncio.gather(*(p.ready(within=120) for p in procs))
                ready = time.perf_counter()
                await eventually(lambda: channel_nags(slack, due) == len(due), within=900)
                done = time.perf_counter()
                # The DMs go beside the posts; let the last of them land.
                await eventually(
                    lambda: sum(NAG in m.text for ms in slack.dms.values() for m in ms) >= len(due),
                    within=120,
                )
                all_sent = time.perf_counter()
            finally:
                for p in procs:
                    p.stop()
            steps = Counter(step_of(m) for _, m in all_messages(slack) if NAG in m.text)
            engine = create_async_engine(db)
            async with engine.connect() as c:
                states = text("SELECT state, count(*) FROM due_job GROUP BY state")
                by_state = await c.execute(states)
                fired = {str(state): int(n) for state, n in by_state.all()}
            await engine.dispose()
    if profile:
        stats = pstats.Stats(str(profile))
        stats.sort_stats("cumulative").print_stats(25)
        stats.sort_stats("tottime").print_stats(15)
    catch_up = done - ready
    return {
        "store": store,
        "processes": f"{len(procs)} x serve --role {roles[0]}",
        "overdue_reminders": len(due),
        "start_to_ready_s": round(ready - start, 2),
        "ready_to_last_channel_reminder_s": round(catch_up, 2),
        "reminders_per_s": round(len(due) / catch_up, 1),
        "ready_to_last_dm_s": round(all_sent - ready, 2),
        "messages_per_s": round(2 * len(due) / (all_sent - ready), 1),
        "due_rows_by_state": fired,
        "messages_without_step_key": steps[None],
        "duplicate_messages": sum(c - 1 for s, c in steps.items() if s is not None and c > 1),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--incidents", type=int, default=10_000)
    p.add_argument("--db", help="a DATABASE_URL (e.g. PostgreSQL) instead of a SQLite file")
    p.add_argument("--workers", type=int, default=2, help="worker processes with --db")
    p.add_argument("--profile", type=Path, help="cProfile output of the first process")
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    result = asyncio.run(run(args.incidents, args.db, args.workers, args.profile))
    report(result, args.json)


if __name__ == "__main__":
    main()
