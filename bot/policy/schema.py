"""JSON Schema of the policy file, for editors (``# yaml-language-server: $schema=...``).

The schema describes the shape; the loader still does the checks a schema cannot
(durations aside: severities, contacts and roles named elsewhere, template placeholders).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .model import Policy

__all__ = ["SCHEMA_PATH", "main", "policy_json_schema", "render_schema", "write_schema"]


def policy_json_schema() -> dict[str, Any]:
    """The policy's JSON Schema (draft 2020-12, no ``$id``: editors use it by path)."""
    schema = Policy.model_json_schema(mode="validation")
    schema.pop("$id", None)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Incident policy"
    # Top-level keys starting with x- are ignored: a place for YAML anchors.
    schema["patternProperties"] = {"^x-": {}}
    return schema


SCHEMA_PATH = Path(__file__).resolve().parents[2] / "policies" / "schema.json"


def render_schema() -> str:
    """The schema as committed: sorted keys, 2-space indent, a trailing newline."""
    return json.dumps(policy_json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_schema(path: str | Path = SCHEMA_PATH) -> Path:
    """Write the schema to ``path`` (default ``policies/schema.json``); returns the path."""
    target = Path(path)
    target.write_text(render_schema(), encoding="utf-8")
    return target


def main() -> None:
    """`python -m bot.policy.schema` rewrites policies/schema.json from the model."""
    print(f"wrote {write_schema()}")


if __name__ == "__main__":
    main()
