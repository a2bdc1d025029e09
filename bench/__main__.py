"""`python -m bench`: every benchmark, one after the other; a table on stdout and
bench/results/all.json. Each one can also run alone (python -m bench.ingest, ...).

With BENCH_POSTGRES_URL (a server the bench may create databases on, e.g.
postgresql://postgres@127.0.0.1:5432/postgres) ingestion and reminders also run on
PostgreSQL, and the declaration burst with `serve --role web` beside `--role worker`,
each in a fresh database dropped afterwards."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench import catchup, declare, ingest, reminders

RESULTS = Path(__file__).resolve().parent / "results"


def _asyncpg(url: str) -> str:
    return "postgresql+asyncpg://" + url.split("://", 1)[1]


@asynccontextmanager
async def fresh_database(server: str) -> AsyncIterator[str]:
    name = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(_asyncpg(server), isolation_level="AUTOCOMMIT")
    async with admin.connect() as c:
        await c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield _asyncpg(server).rsplit("/", 1)[0] + "/" + name
    finally:
        async with admin.connect() as c:
            await c.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        await admin.dispose()


async def on_postgres(server: str) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    async with fresh_database(server) as db:
        out["ingest_postgresql"] = await ingest.run(5000, 50, 0.1, db)
    async with fresh_database(server) as db:
        out["reminders_postgresql"] = await reminders.run(10_000, db=db)
    async with fresh_database(server) as db:  # two --role worker processes
        out["catchup_postgresql"] = await catchup.run(10_000, db=db, workers=2)
    async with fresh_database(server) as db:  # serve --role web beside --role worker
        out["declare_web_worker_postgresql"] = await declare.run(200, split=True, db_url=db)
    return out


def main() -> None:
    import tempfile

    results: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["ingest_sqlite"] = asyncio.run(
            ingest.run(5000, 50, 0.1, f"sqlite+aiosqlite:///{tmp}/ingest.db")
        )
    results["declare"] = asyncio.run(declare.run(200))
    results["reminders_sqlite"] = asyncio.run(reminders.run(10_000))
    results["catchup_sqlite"] = asyncio.run(catchup.run(10_000))
    server = os.environ.get("BENCH_POSTGRES_URL")
    if server:
        results.update(asyncio.run(on_postgres(server)))
    else:
        print("BENCH_POSTGRES_URL not set: PostgreSQL runs skipped")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "all.json").write_text(json.dumps(results, indent=2) + "\n")
    for name, figures in results.items():
        print(f"\n{name}")
        for k, v in figures.items():
            print(f"  {k:>34}: {v}")


if __name__ == "__main__":
    main()
