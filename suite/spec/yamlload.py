"""Strict, bounded YAML loading that remembers where every key came from.

``yaml.safe_load`` accepts duplicate keys (last wins) and aliases (a "billion laughs"
document loads small and explodes later). Scenario files need neither, so both are
refused while parsing; size and nesting are capped before the parser can recurse.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from suite.errors import Problem, ScenarioError

MAX_BYTES = 256 * 1024
MAX_DEPTH = 32

KeyPath = tuple[str | int, ...]


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader without aliases, with duplicate-key detection and a depth cap."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.MarkedYAMLError(
                None, None, "aliases (*name) are not allowed in scenario files", event.start_mark
            )
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise yaml.MarkedYAMLError(
                None,
                None,
                f"nesting deeper than {MAX_DEPTH} levels",
                self.peek_event().start_mark,  # type: ignore[no-untyped-call]
            )
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _check_duplicates(node: yaml.Node, file: str) -> list[Problem]:
    problems: list[Problem] = []
    for path, mapping in _walk_mappings(node, ()):
        seen: dict[object, int] = {}
        for key_node, _ in mapping.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else id(key_node)
            line = key_node.start_mark.line + 1
            if key in seen:
                dotted = _dotted(path + (str(key),))
                problems.append(
                    Problem(file, line, dotted, f"duplicate key (first given on line {seen[key]})")
                )
            else:
                seen[key] = line
    return problems


def _walk_mappings(node: yaml.Node, path: KeyPath) -> Iterator[tuple[KeyPath, yaml.MappingNode]]:
    if isinstance(node, yaml.MappingNode):
        yield path, node
        for key_node, value_node in node.value:
            yield from _walk_mappings(value_node, path + (str(key_node.value),))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            yield from _walk_mappings(item, path + (i,))


def _lines(node: yaml.Node, path: KeyPath, out: dict[KeyPath, int]) -> None:
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            sub = path + (str(key_node.value),)
            out[sub] = key_node.start_mark.line + 1
            _lines(value_node, sub, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _lines(item, path + (i,), out)


def _dotted(path: KeyPath) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


class Document:
    """A parsed YAML mapping plus the line of every key path in it."""

    def __init__(self, file: str, data: dict[str, Any], lines: dict[KeyPath, int]) -> None:
        self.file, self.data, self._lines = file, data, lines

    def line_of(self, path: KeyPath) -> int | None:
        """The line of ``path``, or of its nearest ancestor the file contains."""
        for end in range(len(path), -1, -1):
            if path[:end] in self._lines:
                return self._lines[path[:end]]
        return None

    def problem(self, path: KeyPath, message: str) -> Problem:
        return Problem(self.file, self.line_of(path), _dotted(path), message)


def load_document(path: Path) -> Document:
    """Read ``path`` as one YAML mapping; raise :class:`ScenarioError` when it is not one."""
    file = str(path)
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ScenarioError([Problem(file, None, "", f"cannot read file: {exc.strerror}")]) from exc
    return parse_document(raw, file)


def parse_document(raw: bytes, file: str) -> Document:
    """Parse scenario bytes; every refusal is a :class:`ScenarioError` naming the line."""
    if len(raw) > MAX_BYTES:
        raise ScenarioError([Problem(file, None, "", f"file is larger than {MAX_BYTES} bytes")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ScenarioError([Problem(file, line, "", "not UTF-8 text")]) from exc
    if "\x00" in text:
        raise ScenarioError([Problem(file, None, "", "binary data (NUL bytes), not YAML text")])
    if not text.strip():
        raise ScenarioError([Problem(file, None, "", "empty file; expected a YAML mapping")])
    if text.count("[") + text.count("{") > MAX_DEPTH * 64:
        # Cheap guard before the parser: flow collections are how deep nesting hides.
        raise ScenarioError([Problem(file, None, "", "too many nested brackets")])
    try:
        loader = _StrictLoader(text)  # the reader refuses unprintable characters here
    except yaml.YAMLError as exc:
        raise ScenarioError([Problem(file, None, "", f"not YAML text: {exc}")]) from exc
    try:
        node = loader.get_single_node()
        if node is None:
            raise ScenarioError([Problem(file, None, "", "empty document; expected a mapping")])
        if not isinstance(node, yaml.MappingNode):
            found = "a list" if isinstance(node, yaml.SequenceNode) else "a single value"
            raise ScenarioError(
                [Problem(file, node.start_mark.line + 1, "", f"expected a mapping of keys, found {found}")]
            )
        duplicates = _check_duplicates(node, file)
        if duplicates:
            raise ScenarioError(duplicates)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        mark_line = mark.line + 1 if mark is not None else None
        message = exc.problem or exc.context or "invalid YAML"
        if "could not determine a constructor" in message:
            message = f"tags are not allowed ({message.split('tag ')[-1].strip()})"
        raise ScenarioError([Problem(file, mark_line, "", message)]) from exc
    except yaml.YAMLError as exc:
        raise ScenarioError([Problem(file, None, "", f"invalid YAML: {exc}")]) from exc
    except RecursionError as exc:
        raise ScenarioError([Problem(file, None, "", "nesting too deep")]) from exc
    finally:
        loader.dispose()
    lines: dict[KeyPath, int] = {}
    _lines(node, (), lines)
    return Document(file, data, lines)
