"""How every benchmark prints its figures and writes them as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def report(result: dict[str, Any], json_path: Path | None) -> None:
    for k, v in result.items():
        print(f"{k:>34}: {v}")
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(result, indent=2) + "\n")
