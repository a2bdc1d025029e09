"""JSON Schema of the policy file, for editors (``# yaml-language-server: $schema=...``).

The schema describes the shape; the loader still does the checks a schema cannot
(durations aside: severities, contacts and roles named elsewhere, template placeholders).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .model import Policy

__all__ = ["policy_json_schema", "render_schema"]


def policy_json_schema() -> dict[str, Any]:
    schema = Policy.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Incident policy"
    # Top-level keys starting with x- are ignored: a place for YAML anchors.
    schema["patternProperties"] = {"^x-": {}}
    return schema


SCHEMA_PATH = Path(__file__).resolve().parents[2] / "policies" / "schema.json"


def render_schema() -> str:
    return json.dumps(policy_json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> None:
    """`python -m bot.policy.schema` rewrites policies/schema.json from the model."""
    SCHEMA_PATH.write_text(render_schema(), encoding="utf-8")
    print(f"wrote {SCHEMA_PATH}")


if __name__ == "__main__":
    main()
