"""policies/schema.json is generated from the model and current; every shipped policy
points editors to it and fits it.

`jsonschema` is not a dependency of the bot. Where it is installed the policies are
validated with it too; everywhere a structural check of our own runs: every key of every
mapping is one the schema names (or allows), every required key is there, every list is
a list and every text is text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.policy.schema import SCHEMA_PATH, policy_json_schema, render_schema, write_schema

POLICIES = sorted((Path(__file__).resolve().parent.parent / "policies").glob("*.yaml"))
HEADER = "# yaml-language-server: $schema=./schema.json\n"
STALE = "policies/schema.json is stale: run `python -m bot.policy.schema` and commit it"


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


def test_schema_is_current() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == render_schema(), STALE


def test_schema_file_format(schema: dict[str, Any]) -> None:
    text = render_schema()
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert text == json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "Incident policy"
    assert "$id" not in schema
    assert set(schema["required"]) == {"name", "severities", "templates"}
    assert schema == policy_json_schema()


def test_write_schema(tmp_path: Path) -> None:
    target = write_schema(tmp_path / "schema.json")
    assert target.read_text(encoding="utf-8") == render_schema()


# --- a structural check that needs no jsonschema --------------------------------------


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/$defs/"), ref
        node = root["$defs"][ref.removeprefix("#/$defs/")]
    return node


def _options(node: dict[str, Any], root: dict[str, Any]) -> list[dict[str, Any]]:
    node = _resolve(node, root)
    if "anyOf" in node:
        return [o for option in node["anyOf"] for o in _options(option, root)]
    return [node]


_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "boolean": (bool,),
    "null": (type(None),),
}


def _fits(node: dict[str, Any], kind: str) -> bool:
    return "type" not in node or node["type"] == kind


def _kind(value: object) -> str:
    for name, types in _TYPES.items():
        if isinstance(value, types) and not (name == "integer" and isinstance(value, bool)):
            return name
    return type(value).__name__


def structural_problems(
    value: object, node: dict[str, Any], root: dict[str, Any], where: str = ""
) -> list[str]:
    """Where ``value`` does not have the shape ``node`` describes (keys, required keys,
    types); values themselves (patterns, durations) are the loader's business."""
    kind = _kind(value)
    options = [o for o in _options(node, root) if _fits(o, kind)]
    if not options:
        return [f"{where or '<top>'}: a {kind} is not allowed here"]
    found: list[str] = []
    option = options[0]
    if isinstance(value, dict):
        props: dict[str, Any] = option.get("properties", {})
        patterns = option.get("patternProperties", {})
        extra = option.get("additionalProperties", True)
        for key in option.get("required", []):
            if key not in value:
                found.append(f"{where}.{key}: required, but missing")
        for key, item in value.items():
            path = f"{where}.{key}"
            if key in props:
                found += structural_problems(item, props[key], root, path)
            elif any(key.startswith(p.strip("^")) for p in patterns):
                continue
            elif extra is False:
                found.append(f"{path}: not a property the schema knows")
            elif isinstance(extra, dict):
                found += structural_problems(item, extra, root, path)
    elif isinstance(value, list):
        items = option.get("items")
        prefix = option.get("prefixItems", [])
        for i, item in enumerate(value):
            sub = prefix[i] if i < len(prefix) else items
            if isinstance(sub, dict):
                found += structural_problems(item, sub, root, f"{where}[{i}]")
    return found


def test_the_structural_check_finds_what_it_should(schema: dict[str, Any]) -> None:
    assert structural_problems({"name": "x"}, schema, schema) == [
        ".severities: required, but missing",
        ".templates: required, but missing",
    ]
    bad = {
        "name": "x",
        "templates": {"announcement": "a", "anouncement": "b"},
        "severities": [{"name": "P1", "label": "l", "impact": "i", "aliases": "P-one"}],
        "x-anchors": {"anything": 1},
    }
    assert structural_problems(bad, schema, schema) == [
        ".templates.anouncement: not a property the schema knows",
        ".severities[0].aliases: a string is not allowed here",
    ]


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.name)
def test_shipped_policy_points_to_and_fits_the_schema(path: Path, schema: dict[str, Any]) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.startswith(HEADER), f"{path.name} must start with {HEADER!r}"
    data = yaml.safe_load(text)
    assert set(schema["required"]) <= set(data)
    assert set(data) <= set(schema["properties"]) | {k for k in data if k.startswith("x-")}
    assert structural_problems(data, schema, schema) == []
    try:  # the full check where jsonschema is installed (it is not a dependency)
        import jsonschema  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError:
        return
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(data, schema, cls=jsonschema.Draft202012Validator)
