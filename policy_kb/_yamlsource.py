"""Read YAML safely and remember where every value came from.

PyYAML's safe loader builds plain data; it forgets positions, silently keeps the last of two
duplicate keys and expands aliases (the "billion laughs" bomb). This module composes the node
tree with the safe loader, refuses aliases, merge keys and absurd nesting, reports duplicate
keys, and returns plain data plus a map from each value's path to its line and column.

Dates are returned as ISO strings (``"2021-01-01"``) so that the data is JSON-shaped.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import yaml

from ._errors import Location, Problem

Path = tuple[str | int, ...]

#: measures.yaml is about 40 KB; anything beyond this is not a policy file.
MAX_BYTES = 2_000_000
#: deeper than this is not a hand-written file
MAX_DEPTH = 40
#: aliases are refused; a "billion laughs" file has thousands, and a few lines say enough
MAX_ALIAS_REPORTS = 5

_HINTS = {
    "found character '\\t' that cannot start any token": "indent with spaces, not tabs",
    "mapping values are not allowed here": (
        "check the indentation, and put a text that contains ': ' in quotes"
    ),
    "could not find expected ':'": "a key must be followed by ':' and a space",
    "found undefined alias": "aliases (*name) are not used in these files",
    "expected <block end>, but found": "check the indentation of this line against the lines above",
}


_COLLECTION_TAGS = {"SequenceNode": "tag:yaml.org,2002:seq", "MappingNode": "tag:yaml.org,2002:map"}


@dataclass
class YamlDocument:
    """Plain data read from YAML, with the position of every value and key."""

    file: str
    data: Any
    value_locations: dict[Path, Location] = field(default_factory=dict)
    key_locations: dict[Path, Location] = field(default_factory=dict)
    quoted: set[Path] = field(default_factory=set)
    problems: list[Problem] = field(default_factory=list)

    def at(self, path: Path) -> Location:
        """The position of the value at ``path`` (or of its nearest located parent)."""
        probe = path
        while probe:
            if probe in self.value_locations:
                return self.value_locations[probe]
            probe = probe[:-1]
        return self.value_locations.get((), Location(self.file, 1, 1))

    def text_at(self, path: Path) -> Location:
        """Where the characters of the text scalar at ``path`` begin (after an opening quote)."""
        loc = self.at(path)
        if path in self.quoted:
            return Location(loc.file, loc.line, loc.column + 1)
        return loc

    def key_at(self, path: Path) -> Location:
        """The position of the key that holds the value at ``path``."""
        return self.key_locations.get(path) or self.at(path)


class _TooDeep(Exception):
    pass


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses aliases and limits nesting while composing."""

    def __init__(self, stream: str, file: str, problems: list[Problem]) -> None:
        super().__init__(stream)
        self._file = file
        self._problems = problems
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.get_event()  # type: ignore[no-untyped-call]
            mark = event.start_mark
            self._aliases += 1
            if self._aliases <= MAX_ALIAS_REPORTS:
                more = (
                    " (further aliases are not listed)"
                    if self._aliases == MAX_ALIAS_REPORTS
                    else ""
                )
                self._problems.append(
                    Problem(
                        Location(self._file, mark.line + 1, mark.column + 1),
                        f"YAML alias '*{event.anchor}' is not allowed{more}",
                        "write the value out, or define a category and refer to it by name",
                    )
                )
            return yaml.ScalarNode("tag:yaml.org,2002:null", "", mark, event.end_mark)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _TooDeep(self.peek_event().start_mark)  # type: ignore[no-untyped-call]
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _location(file: str, mark: yaml.Mark | None) -> Location:
    if mark is None:
        return Location(file, 1, 1)
    return Location(file, mark.line + 1, mark.column + 1)


def decode(raw: bytes, file: str, max_bytes: int = MAX_BYTES) -> tuple[str | None, Problem | None]:
    """Bytes to text, refusing files that are too large or not UTF-8."""
    if len(raw) > max_bytes:
        return None, Problem(
            Location(file, 1, 1),
            f"the file is {len(raw):,} bytes, too large to be read",
            f"at most {max_bytes:,} bytes",
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, Problem(
            Location(file, line, 1),
            f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
            "save the file as UTF-8",
        )
    return text, None


def read_yaml(text: str, file: str) -> YamlDocument:
    """Parse one YAML document into located plain data.

    Never raises for bad input: syntax errors and refused constructs are returned in
    ``problems`` (the data is ``None`` when the document could not be parsed at all).
    """
    doc = YamlDocument(file=file, data=None)
    loader = _Loader(text, file, doc.problems)
    try:
        node = loader.get_single_node()
    except _TooDeep as exc:
        doc.problems.append(
            Problem(
                _location(file, exc.args[0]),
                "the YAML is nested too deeply",
                f"at most {MAX_DEPTH} levels",
            )
        )
        return doc
    except yaml.MarkedYAMLError as exc:
        doc.problems.append(_syntax_problem(file, exc))
        return doc
    except yaml.YAMLError as exc:  # pragma: no cover - PyYAML raises marked errors in practice
        doc.problems.append(Problem(Location(file, 1, 1), f"YAML error: {exc}"))
        return doc
    finally:
        loader.dispose()
    if node is None:
        doc.problems.append(Problem(Location(file, 1, 1), "the file is empty"))
        return doc
    doc.data = _build(node, (), doc, loader)
    return doc


def _syntax_problem(file: str, exc: yaml.MarkedYAMLError) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    what = exc.problem or "invalid YAML"
    if exc.context and exc.context not in what:
        what = f"{what} {exc.context}"
    hint = next((h for key, h in _HINTS.items() if key in (exc.problem or "")), None)
    if "expected a single document" in str(exc):
        what, hint = "the file holds more than one YAML document", "remove the '---' separator"
    return Problem(_location(file, mark), f"YAML syntax error: {what}", hint)


def _scalar(node: yaml.ScalarNode, loader: _Loader, doc: YamlDocument) -> Any:
    try:
        value = loader.construct_object(node, deep=True)
    except yaml.constructor.ConstructorError as exc:
        # only the safe constructors exist: a !!python/… tag lands here and is never run
        doc.problems.append(
            Problem(
                _location(doc.file, node.start_mark),
                f"YAML error: {exc.problem}",
                "plain values only: texts, numbers, true/false, dates",
            )
        )
        return None
    except ValueError:
        return node.value  # looks like a date but is not one (2021-02-30): keep the text
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, bytes):  # !!binary
        return value.decode("latin-1")
    return value


def _build(node: yaml.Node, path: Path, doc: YamlDocument, loader: _Loader) -> Any:
    doc.value_locations[path] = _location(doc.file, node.start_mark)
    if isinstance(node, yaml.ScalarNode):
        if node.style in ("'", '"'):
            doc.quoted.add(path)
        return _scalar(node, loader, doc)
    expected_tag = _COLLECTION_TAGS.get(type(node).__name__)
    if expected_tag and node.tag != expected_tag:
        doc.problems.append(
            Problem(
                _location(doc.file, node.start_mark),
                f"YAML tag '{node.tag}' is not allowed",
                "plain lists and mappings only, without tags",
            )
        )
        return None
    if isinstance(node, yaml.SequenceNode):
        return [_build(child, (*path, i), doc, loader) for i, child in enumerate(node.value)]
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        first_seen: dict[Hashable, Location] = {}
        for key_node, value_node in node.value:
            key_loc = _location(doc.file, key_node.start_mark)
            if key_node.tag == "tag:yaml.org,2002:merge":
                doc.problems.append(
                    Problem(key_loc, "YAML merge key '<<' is not allowed", "write the keys out")
                )
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                doc.problems.append(
                    Problem(key_loc, "a key must be a plain word, not a list or mapping")
                )
                continue
            key = _scalar(key_node, loader, doc)
            if not isinstance(key, str):
                key = str(key).lower() if isinstance(key, bool) else str(key)
            if key in first_seen:
                first = first_seen[key]
                doc.problems.append(
                    Problem(
                        key_loc,
                        f"duplicate key '{key}'",
                        f"each key once; first given at line {first.line}",
                    )
                )
                continue
            first_seen[key] = key_loc
            doc.key_locations[(*path, key)] = key_loc
            result[key] = _build(value_node, (*path, key), doc, loader)
        return result
    raise AssertionError(f"unexpected YAML node {node!r}")  # pragma: no cover
