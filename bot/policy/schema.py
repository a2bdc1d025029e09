"""JSON Schema of the policy file, for editors (``# yaml-language-server: $schema=...``).

The schema describes the shape; the loader still does the checks a schema cannot
(durations aside: severities, contacts and roles named elsewhere, template placeholders).
"""

from __future__ import annotations

from typing import Any

from .model import Policy

__all__ = ["policy_json_schema"]


def policy_json_schema() -> dict[str, Any]:
    schema = Policy.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Incident policy"
    # Top-level keys starting with x- are ignored: a place for YAML anchors.
    schema["patternProperties"] = {"^x-": {}}
    return schema
