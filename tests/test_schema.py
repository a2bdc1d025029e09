"""policies/schema.json is generated from the model and current; every shipped policy
points editors to it and fits it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bot.policy.schema import SCHEMA_PATH, render_schema

POLICIES = sorted((Path(__file__).resolve().parent.parent / "policies").glob("*.yaml"))


def test_schema_is_current() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == render_schema(), (
        "policies/schema.json is stale: run `python -m bot.policy.schema`"
    )


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.name)
def test_shipped_policy_points_to_and_fits_the_schema(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=./schema.json\n")
    schema = json.loads(SCHEMA_PATH.read_text())
    data = yaml.safe_load(text)
    assert set(schema["required"]) <= set(data)
    assert set(data) <= set(schema["properties"]) | {k for k in data if k.startswith("x-")}
    try:  # the full check where jsonschema is installed (it is not a dependency)
        import jsonschema
    except ImportError:
        return
    jsonschema.validate(data, schema)
