"""Timeline ingestion: message events per second through the real HTTP endpoint.

    python -m bench.ingest [--events 5000] [--concurrency 50] [--retries 0.1] [--db sqlite|postgres]

Starts the fake Slack server and the real bot (`python -m bot serve`, a separate
process, so load and server each get a core), declares one incident, then sends
signed message events for its channel, a share of them sent twice as Slack's
retries. It waits until the store holds every event, checks none was lost or
duplicated, and prints the rate. A benchmark, not a test: it asserts nothing timed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.report import report  # noqa: E402
from tests.harness import eventually  # noqa: E402
from tests.processes import BotProcess  # noqa: E402
from tests.slack_server import FakeSlack  # noqa: E402


async def count(engine: Any) -> int:
    async with engine.connect() as c:
        q = "SELECT count(*) FROM timeline_entry WHERE kind = 'message' AND author_id LIKE 'U0B%'"
        return int((await c.execute(text(q))).scalar() or 0)


async def run(events: int, concurrency: int, retries: float, db_url: str) -> dict[str, Any]:
    async with FakeSlack.from_manifest(ROOT / "manifest.yml") as slack:
        alice = slack.add_user("alice")
        general = slack.add_channel("general", members=[alice])
        with tempfile.TemporaryDirectory() as tmp:
            bot = BotProcess(slack, db_url, ROOT / "tests/policies/fast.yaml", Path(tmp) / "b.log")
            try:
                await bot.ready()
                await bot.send.command("SEV1 Ingestion benchmark", user=alice, channel=general)
                channel = await eventually(
                    lambda: next(
                        (c for c in slack.channels.values() if c.name.startswith("incident-")),
                        None,
                    )
                )
                base = time.time()
                payloads = []
                for i in range(events):
                    ts = f"{base + i / 1000:.6f}"
                    ev = {
                        "type": "message",
                        "channel": channel.id,
                        "user": f"U0B{i % 50:04d}",
                        "text": f"message {i}",
                        "ts": ts,
                        "event_ts": ts,
                    }
                    payloads.append((ev, f"Ev{i}", None))
                    if random.random() < retries:
                        payloads.append((ev, f"Ev{i}", 1))
                random.shuffle(payloads)
                engine = create_async_engine(db_url)
                queue: asyncio.Queue[tuple[dict[str, Any], str, int | None]] = asyncio.Queue()
                for p in payloads:
                    queue.put_nowait(p)
                statuses: list[int] = []

                async def worker() -> None:
                    while not queue.empty():
                        ev, eid, retry = queue.get_nowait()
                        r = await bot.send.event(ev, event_id=eid, retry_num=retry)
                        statuses.append(r.status)

                start = time.perf_counter()
                await asyncio.gather(*(worker() for _ in range(concurrency)))
                acked = time.perf_counter() - start

                async def all_stored() -> bool:
                    return await count(engine) >= events

                await eventually(all_stored, within=300)
                stored = time.perf_counter() - start
                await asyncio.sleep(0.5)
                final = await count(engine)
                await engine.dispose()
            finally:
                bot.stop()
    return {
        "events": events,
        "requests": len(payloads),
        "retries": len(payloads) - events,
        "concurrency": concurrency,
        "non_200": sum(s != 200 for s in statuses),
        "stored": final,
        "lost": events - min(final, events),
        "duplicated": max(final - events, 0),
        "seconds_to_ack_all": round(acked, 3),
        "seconds_to_store_all": round(stored, 3),
        "events_per_second": round(events / stored, 1),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--events", type=int, default=5000)
    p.add_argument("--concurrency", type=int, default=50)
    p.add_argument("--retries", type=float, default=0.1, help="share of events sent twice")
    p.add_argument("--db", default="sqlite", help="sqlite, or a postgresql+asyncpg:// URL")
    p.add_argument("--json", type=Path, help="also write the figures here")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite+aiosqlite:///{tmp}/bench.db" if args.db == "sqlite" else args.db
        result = asyncio.run(run(args.events, args.concurrency, args.retries, db))
    result["database"] = "sqlite" if args.db == "sqlite" else "postgresql"
    report(result, args.json)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
