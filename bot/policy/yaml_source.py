"""YAML loading that remembers where everything is.

Composes the document with PyYAML's SafeLoader (no Python tags, no arbitrary objects),
then walks the node graph to build plain Python values together with the line of every
mapping key and sequence item, so that validation errors can point at the source line.
Duplicate keys, which PyYAML silently overwrites, are reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .errors import FieldPath, PolicyError, PolicyInvalid, format_path

__all__ = ["YamlDocument", "load_yaml", "parse_yaml"]

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_MAX_NODES = 50_000  # aliases can multiply a small file into a huge tree


@dataclass
class YamlDocument:
    """Plain values (dict, list, str, int, float, bool, None, dates) and where they are."""

    file: str
    data: object
    #: path -> 1-based line of the mapping key or sequence item; ``()`` is the document.
    lines: dict[FieldPath, int] = field(default_factory=dict)
    #: path -> 1-based line of the first content line of a literal block scalar (``|``).
    block_lines: dict[FieldPath, int] = field(default_factory=dict)
    #: problems that did not stop loading (duplicate keys); empty when all is well.
    errors: list[PolicyError] = field(default_factory=list)

    def line_of(self, path: FieldPath) -> int | None:
        """Line of ``path``, or of its nearest ancestor present in the document."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None


class _Walker:
    def __init__(self, loader: yaml.SafeLoader, doc: YamlDocument) -> None:
        self.loader = loader
        self.doc = doc
        self.count = 0
        self.active: set[int] = set()

    def error(self, node: Node, path: FieldPath, message: str) -> None:
        err = PolicyError(self.doc.file, node.start_mark.line + 1, format_path(path), message)
        if err not in self.doc.errors:  # an anchor used twice is reported once
            self.doc.errors.append(err)

    def fatal(self, node: Node, path: FieldPath, message: str) -> PolicyInvalid:
        self.error(node, path, message)
        return PolicyInvalid(self.doc.errors)

    def value(self, node: Node, path: FieldPath) -> object:
        self.count += 1
        if self.count > _MAX_NODES:
            raise self.fatal(node, path, f"document too large (more than {_MAX_NODES} values)")
        if isinstance(node, ScalarNode):
            if node.style == "|":
                self.doc.block_lines[path] = node.start_mark.line + 2
            try:
                return self.loader.construct_object(node)
            except yaml.constructor.ConstructorError:
                message = f"unsupported YAML tag {node.tag}; a policy holds plain values only"
                raise self.fatal(node, path, message) from None
            except yaml.MarkedYAMLError as exc:
                raise self.fatal(node, path, _yaml_message(exc)) from None
        if id(node) in self.active:
            raise self.fatal(node, path, "an alias refers to a value that contains it")
        self.active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return self.sequence(node, path)
            if isinstance(node, MappingNode):
                return self.mapping(node, path)
        finally:
            self.active.discard(id(node))
        raise self.fatal(node, path, "unsupported YAML node")  # pragma: no cover

    def sequence(self, node: SequenceNode, path: FieldPath) -> list[object]:
        if node.tag != _SEQ_TAG:
            raise self.fatal(
                node, path, f"unsupported YAML tag {node.tag}; a policy holds plain values only"
            )
        items: list[object] = []
        for index, item in enumerate(node.value):
            self.doc.lines[(*path, index)] = item.start_mark.line + 1
            items.append(self.value(item, (*path, index)))
        return items

    def mapping(self, node: MappingNode, path: FieldPath) -> dict[str, object]:
        if node.tag != _MAP_TAG:
            raise self.fatal(
                node, path, f"unsupported YAML tag {node.tag}; a policy holds plain values only"
            )
        result: dict[str, object] = {}
        merges: list[Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merges.append(value_node)
                continue
            if not isinstance(key_node, ScalarNode):
                raise self.fatal(key_node, path, "a mapping key must be plain text")
            key = str(key_node.value)
            if key in result:
                first = self.doc.lines.get((*path, key))
                self.error(
                    key_node,
                    (*path, key),
                    f'duplicate key "{key}" (first defined on line {first})',
                )
            self.doc.lines[(*path, key)] = key_node.start_mark.line + 1
            result[key] = self.value(value_node, (*path, key))
        # "<<: *defaults" adds the keys the mapping does not set itself; their lines are
        # those of the anchored mapping.
        for merge in merges:
            sources = merge.value if isinstance(merge, SequenceNode) else [merge]
            for source in sources:
                if not isinstance(source, MappingNode):
                    raise self.fatal(source, path, "<< must refer to a mapping")
                self.merge(source, path, result)
        return result

    def merge(self, source: MappingNode, path: FieldPath, result: dict[str, object]) -> None:
        if id(source) in self.active:
            raise self.fatal(source, path, "<< refers to a mapping that contains it")
        saved = self.doc.lines, self.doc.block_lines
        self.doc.lines, self.doc.block_lines = {}, {}
        self.active.add(id(source))
        try:
            merged = self.mapping(source, path)
            lines, block_lines = self.doc.lines, self.doc.block_lines
        finally:
            self.doc.lines, self.doc.block_lines = saved
            self.active.discard(id(source))
        depth = len(path)
        for key, value in merged.items():
            if key in result:
                continue
            result[key] = value
            for target, source_map in ((saved[0], lines), (saved[1], block_lines)):
                target.update(
                    (p, line)
                    for p, line in source_map.items()
                    if len(p) > depth and p[depth] == key
                )


def _yaml_message(exc: yaml.MarkedYAMLError) -> str:
    parts = [p for p in (exc.context, exc.problem) if p]
    return "YAML syntax error: " + ("; ".join(parts) if parts else "cannot parse")


_PLACEHOLDER_VALUE = re.compile(r"(:|-)\s+\{[a-z_]+\}")


def _hint(text: str, line: int | None) -> str:
    """A likely cause PyYAML's message does not name."""
    if line is None:
        return ""
    lines = text.splitlines()
    source = lines[line - 1] if 0 < line <= len(lines) else ""
    if "\t" in source[: len(source) - len(source.lstrip())]:
        return " (indent with spaces, not tabs)"
    if _PLACEHOLDER_VALUE.search(source):
        return ' (a value that starts with "{" must be quoted: "{title} ...")'
    return ""


def _mark_line(exc: yaml.MarkedYAMLError) -> int | None:
    mark = exc.problem_mark or exc.context_mark
    return None if mark is None else mark.line + 1


def parse_yaml(text: str, file: str = "<policy>") -> YamlDocument:
    """Parse one YAML document; syntax errors raise PolicyInvalid, duplicate keys are
    returned in ``errors`` so that validation can still report everything else."""
    doc = YamlDocument(file=file, data=None)
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is not None:
            doc.lines[()] = root.start_mark.line + 1
            doc.data = _Walker(loader, doc).value(root, ())
    except yaml.MarkedYAMLError as exc:
        line = _mark_line(exc)
        message = _yaml_message(exc) + _hint(text, line)
        raise PolicyInvalid([PolicyError(file, line, "", message)]) from None
    except yaml.YAMLError as exc:  # e.g. a reader error without a mark
        raise PolicyInvalid([PolicyError(file, None, "", f"YAML error: {exc}")]) from None
    finally:
        loader.dispose()
    return doc


def load_yaml(text: str, file: str = "<policy>") -> YamlDocument:
    """Like :func:`parse_yaml`, but any problem (including duplicate keys) raises."""
    doc = parse_yaml(text, file)
    if doc.errors:
        raise PolicyInvalid(doc.errors)
    return doc
