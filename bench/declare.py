"""Slash-command ack latency and declare end to end.

    python -m bench.declare [--declarations 200] [--split] [--json bench/results/declare.json]

Starts the fake Slack server, the real bot (`python -m bot serve`) and, as the framework
floor, a bare Bolt app that only acks (bench/floor_app.py), both in their own process.
Sends N signed `/incident SEV1 ...` at once to each and reports, per server, the HTTP
ack latency p50/p99; for the bot also command-to-pinned-announcement p50/p95 and Web
API calls per declaration. With --split the bot is two processes on one database,
`serve --role web` taking the commands and `serve --role worker` setting the channels
up (SQLite file, or a fresh PostgreSQL database when BENCH_POSTGRES_URL is set). Figures
from one run; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.report import report  # noqa: E402
from tests.harness import SIGNING_SECRET, eventually  # noqa: E402
from tests.processes import BotProcess, free_port  # noqa: E402
from tests.slack_requests import SlackSender  # noqa: E402
from tests.slack_server import FakeSlack  # noqa: E402


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def burst(sender: SlackSender, n: int, users: list[str], channel: str) -> list[float]:
    async def one(i: int) -> float:
        start = time.perf_counter()
        r = await sender.command(
            f"SEV1 Outage number {i}", user=users[i % len(users)], channel=channel
        )
        assert r.status == 200, r.body
        return (time.perf_counter() - start) * 1000

    return list(await asyncio.gather(*(one(i) for i in range(n))))


async def run(n: int, split: bool = False, db_url: str | None = None) -> dict[str, Any]:
    async with FakeSlack.from_manifest(ROOT / "manifest.yml") as slack:
        users = [slack.add_user(f"responder{i}") for i in range(20)]
        slack.add_user("lead", id="U0LEAD")
        slack.add_usergroup("oncall", users[:3], id="S0ONCALL")
        general = slack.add_channel("general", members=users)
        slack.add_channel("incidents")
        with tempfile.TemporaryDirectory() as tmp:
            env = {
                **os.environ,
                "SLACK_BOT_TOKEN": slack.bot_token,
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_API_URL": slack.api_url,
                "PORT": str(free_port()),
            }
            # Started once, before anything is measured.
            floor = subprocess.Popen(  # noqa: ASYNC220
                [sys.executable, "-m", "bench.floor_app"], cwd=ROOT, env=env
            )
            floor_sender = SlackSender(
                f"http://127.0.0.1:{env['PORT']}/slack/events", SIGNING_SECRET, slack
            )
            url = db_url or f"sqlite+aiosqlite:///{tmp}/bench.db"
            policy = ROOT / "tests/policies/test.yaml"
            bot = BotProcess(
                slack, url, policy, Path(tmp) / "bot.log", role="web" if split else "all"
            )
            worker = (
                BotProcess(slack, url, policy, Path(tmp) / "worker.log", role="worker")
                if split
                else None
            )
            try:
                await bot.ready()
                if worker is not None:
                    await worker.ready()
                await asyncio.sleep(1)  # the floor app starts too
                await burst(floor_sender, 10, users, general)  # warm both up
                floor_ms = await burst(floor_sender, n, users, general)
                calls_before = len(slack.calls)
                pinned: dict[str, float] = {}
                start = time.perf_counter()
                sent = asyncio.create_task(burst(bot.send, n, users, general))

                async def all_pinned() -> bool:
                    for c in slack.channels.values():
                        if c.name.startswith("incident-") and c.pins and c.id not in pinned:
                            pinned[c.id] = (time.perf_counter() - start) * 1000
                    return len(pinned) >= n

                bot_ms = await sent
                await eventually(all_pinned, within=300)
                await asyncio.sleep(0.5)
                # Calls made by declaring alone (not reminders, which start 2 s later).
                declare_calls = [
                    c for c in slack.calls[calls_before:] if c.method not in ("auth.test",)
                ]
            finally:
                bot.stop()
                if worker is not None:
                    worker.stop()
                floor.terminate()
                floor.wait(10)
    per_declaration = len(declare_calls) / n
    by_method: dict[str, int] = {}
    for c in declare_calls:
        by_method[c.method] = by_method.get(c.method, 0) + 1
    return {
        "declarations": n,
        "roles": "web + worker" if split else "all",
        "floor_ack_p50_ms": round(statistics.median(floor_ms), 1),
        "floor_ack_p99_ms": round(pct(floor_ms, 99), 1),
        "bot_ack_p50_ms": round(statistics.median(bot_ms), 1),
        "bot_ack_p99_ms": round(pct(bot_ms, 99), 1),
        "bot_over_floor_p99": round(pct(bot_ms, 99) / pct(floor_ms, 99), 2),
        "declare_to_pin_p50_ms": round(statistics.median(pinned.values()), 1),
        "declare_to_pin_p95_ms": round(pct(list(pinned.values()), 95), 1),
        "web_api_calls_per_declaration": round(per_declaration, 2),
        "calls_by_method": {k: round(v / n, 2) for k, v in sorted(by_method.items())},
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--declarations", type=int, default=200)
    p.add_argument("--split", action="store_true", help="a web and a worker process")
    p.add_argument("--json", type=Path)
    args = p.parse_args()

    async def go() -> dict[str, Any]:
        server = os.environ.get("BENCH_POSTGRES_URL")
        if args.split and server:
            from bench.__main__ import fresh_database  # the one helper for a fresh database

            async with fresh_database(server) as url:
                return await run(args.declarations, split=True, db_url=url)
        return await run(args.declarations, split=args.split)

    report(asyncio.run(go()), args.json)


if __name__ == "__main__":
    main()
