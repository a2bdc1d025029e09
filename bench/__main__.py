"""`python -m bench`: every benchmark, one after the other; a table on stdout and
bench/results/all.json. Each one can also run alone (python -m bench.ingest, ...)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from bench import declare, ingest, reminders

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    import tempfile

    results: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["ingest_sqlite"] = asyncio.run(
            ingest.run(5000, 50, 0.1, f"sqlite+aiosqlite:///{tmp}/ingest.db")
        )
    results["declare"] = asyncio.run(declare.run(200))
    results["reminders"] = asyncio.run(reminders.run(10_000))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "all.json").write_text(json.dumps(results, indent=2) + "\n")
    for name, figures in results.items():
        print(f"\n{name}")
        for k, v in figures.items():
            print(f"  {k:>34}: {v}")


if __name__ == "__main__":
    main()
