"""Load a policy file: YAML with line numbers, validated into a :class:`Policy`.

Every problem found is reported at once, each with the file, the line and the dotted
field path (``severities[1].update_every``); a policy that has any problem is never
returned, so a running bot cannot half-apply a broken one.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from .errors import FieldPath, PolicyError, PolicyInvalid, format_path
from .model import Policy
from .yaml_source import YamlDocument, parse_yaml

__all__ = ["LoadedPolicy", "load_policy", "parse_policy"]

# pydantic adds these to a location for dict keys and union members: not document paths.
_NOT_A_KEY = re.compile(r"^\[key\]$|^[a-z-]+\[.*\]$")


@dataclass(frozen=True)
class LoadedPolicy:
    """A validated policy and where it came from."""

    policy: Policy
    path: str
    #: sha256 (hex) of the file's bytes: incidents record the version they started with.
    version: str


def load_policy(path: str | Path) -> LoadedPolicy:
    """Read and validate the policy at ``path``.

    Raises PolicyInvalid with every problem found, or OSError when the file cannot be read.
    """
    return parse_policy(Path(path).read_bytes(), str(path))


def parse_policy(source: str | bytes, file: str = "<policy>") -> LoadedPolicy:
    """Validate policy text; ``file`` names it in messages and becomes ``path``."""
    raw = source.encode("utf-8") if isinstance(source, str) else source
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise PolicyInvalid([PolicyError(file, line, "", "not UTF-8 text")]) from None
    doc = parse_yaml(text, file)
    errors = list(doc.errors)
    if doc.data is None:
        raise PolicyInvalid(
            [*errors, PolicyError(file, None, "", "the policy is empty; see policies/default.yaml")]
        )
    data = doc.data
    if isinstance(data, dict):  # top-level "x-..." keys hold YAML anchors for reuse
        data = {k: v for k, v in data.items() if not k.startswith("x-")}
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        errors += _convert(exc.errors(include_url=False), doc)
    if errors:
        raise PolicyInvalid(errors)
    return LoadedPolicy(policy, file, hashlib.sha256(raw).hexdigest())


def _convert(details: list[ErrorDetails], doc: YamlDocument) -> list[PolicyError]:
    out: list[PolicyError] = []
    suggested: set[FieldPath] = set()  # missing keys that a mistyped key already explains
    for err in details:
        path = _path(err)
        if err["type"] == "extra_forbidden":
            message, close = _unknown_key(path)
            if close:
                suggested.add((*path[:-1], close))
            out.append(PolicyError(doc.file, doc.line_of(path), format_path(path), message))
    paths = [_path(err) for err in details]
    for err in details:
        path = _path(err)
        if err["type"] == "extra_forbidden" or path in suggested:
            continue
        if err["type"] == "too_short" and any(
            len(p) > len(path) and p[: len(path)] == path for p in paths
        ):
            continue  # pydantic counts the items that failed as missing: noise
        out.append(PolicyError(doc.file, _line(err, path, doc), format_path(path), _message(err)))
    return out


def _path(err: ErrorDetails) -> FieldPath:
    return tuple(p for p in err["loc"] if not (isinstance(p, str) and _NOT_A_KEY.match(p)))


def _line(err: ErrorDetails, path: FieldPath, doc: YamlDocument) -> int | None:
    if err["type"] == "missing":
        return doc.line_of(path[:-1])
    offset = (err.get("ctx") or {}).get("line_offset")
    if isinstance(offset, int) and path in doc.block_lines:
        return doc.block_lines[path] + offset
    return doc.line_of(path)


def _show(value: object) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _message(err: ErrorDetails) -> str:
    kind, got, ctx = err["type"], _show(err.get("input")), err.get("ctx") or {}
    messages = {
        "missing": "required, but missing",
        "string_type": f"expected text, got {got}",
        "int_type": f"expected a whole number, got {got}",
        "int_parsing": f"expected a whole number, got {got}",
        "int_from_float": f"expected a whole number, got {got}",
        "bool_type": f"expected true or false, got {got}",
        "bool_parsing": f"expected true or false, got {got}",
        "list_type": f"expected a list, got {got}",
        "tuple_type": f"expected a list, got {got}",
        "dict_type": f"expected a mapping (key: value), got {got}",
        "model_type": f"expected a mapping (key: value), got {got}",
        "model_attributes_type": f"expected a mapping (key: value), got {got}",
        "too_short": f"needs at least {ctx.get('min_length', 1)} item(s)",
        "greater_than_equal": f"must be {ctx.get('ge')} or more, got {got}",
    }
    return messages.get(kind, err["msg"])


def _unknown_key(path: FieldPath) -> tuple[str, str | None]:
    key = str(path[-1])
    fields = _fields_at(path[:-1])
    if not fields:
        return f'unknown key "{key}"', None
    close = difflib.get_close_matches(key, fields, n=1, cutoff=0.6)
    if close:
        return f'unknown key "{key}"; did you mean "{close[0]}"?', close[0]
    return f'unknown key "{key}"; expected one of: {", ".join(fields)}', None


def _fields_at(path: FieldPath) -> list[str] | None:
    """The keys the model at ``path`` accepts (None when it is not a model)."""
    node: Any = Policy
    for part in path:
        node = _unwrap(node)
        if isinstance(node, type) and issubclass(node, BaseModel):
            field = node.model_fields.get(part) if isinstance(part, str) else None
            if field is None:
                return None
            node = field.annotation
        elif get_origin(node) in (tuple, list) and isinstance(part, int):
            node = get_args(node)[0]
        elif get_origin(node) is dict:
            node = get_args(node)[1]
        else:
            return None
    node = _unwrap(node)
    if isinstance(node, type) and issubclass(node, BaseModel):
        return list(node.model_fields)
    return None


def _unwrap(node: Any) -> Any:
    while True:
        origin = get_origin(node)
        if origin is Annotated:
            node = get_args(node)[0]
        elif origin in (Union, UnionType):
            options = [a for a in get_args(node) if a is not type(None)]
            if len(options) != 1:
                return node
            node = options[0]
        else:
            return node
