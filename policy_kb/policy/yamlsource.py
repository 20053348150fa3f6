"""Read YAML safely, with YAML 1.2 rules, and remember where every value came from.

The text is composed into a node tree by libyaml (PyYAML's C parser, when installed) and the tree
is then checked and turned into plain data here, so that:

- numbers and yes/no read as people mean them (YAML 1.2 core rules, not YAML 1.1): ``010`` is ten,
  ``0x10``, ``1:30``, ``on``, ``yes`` are texts, and only ``true`` / ``false`` are yes/no;
  dates stay texts (``"2021-01-01"``), so the data is JSON-shaped;
- aliases, merge keys, explicit tags (``!!binary``, ``!!python/…``) and absurd nesting are refused,
  and two equal keys are reported instead of one silently winning;
- every value keeps its line and column, and every scalar the characters as typed.

Nothing is ever constructed from a tag: there is no constructor, only the five plain kinds.
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import yaml

from ..errors import Location, Problem
from ..text import Msg

Path = tuple[str | int, ...]

#: measures.yaml is about 50 KB; anything beyond this is not a policy file.
MAX_BYTES = 2_000_000
#: deeper than this is not a hand-written file
MAX_DEPTH = 40
#: a number longer than this is not a figure anyone typed
MAX_DIGITS = 40


class OutOfRange(str):
    """A number written in a file that a float cannot hold, kept as written for the message:
    so close to 0 that it would be 0 (``1e-400``, which is not 0: read as 0 it would decide a
    "> 0" condition the wrong way), or, from JSON, so large that it would be infinite."""

    __slots__ = ()


_HELD_DIGITS = sys.float_info.dig  # 15: a double holds every decimal of so many digits


def written_float(text: str) -> float | OutOfRange:
    """The float a file's number stands for; :class:`OutOfRange` when it is not 0 but would be
    read as 0, or when it has more significant digits than a double holds and the double is
    another number (199999.99999999999999 read as 200000 met "≥ 200000"). (One too large is
    read as infinite, which every reader refuses as not a number.)"""
    value = float(text)
    mantissa = text.lower().partition("e")[0]
    if value == 0.0:
        if any(c in "123456789" for c in mantissa):
            return OutOfRange(text)
    elif len(mantissa) > _HELD_DIGITS and _significant(mantissa) > _HELD_DIGITS:
        from decimal import Decimal, InvalidOperation

        with contextlib.suppress(InvalidOperation):
            if Decimal(text.strip().replace("_", "")) != Decimal(repr(value)):
                return OutOfRange(text)
    return value


def _significant(mantissa: str) -> int:
    """How many significant digits a number's digits before its exponent hold."""
    digits = "".join(c for c in mantissa if c.isdigit()).lstrip("0")
    return len(digits.rstrip("0")) if "." in mantissa else len(digits)


_STR, _INT, _FLOAT, _BOOL, _NULL = (
    "tag:yaml.org,2002:" + t for t in ("str", "int", "float", "bool", "null")
)
_SEQ, _MAP, _MERGE = "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map", "tag:yaml.org,2002:merge"


@cache
def _loader() -> Any:
    """libyaml's parser with the implicit types of the YAML 1.2 core schema (PyYAML is imported
    on the first file read: a knowledge base loaded from its kept model reads none)."""
    import yaml

    base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # type: ignore[misc]
        yaml_implicit_resolvers: ClassVar[dict[str, list[tuple[str, re.Pattern[str]]]]] = {}

    def resolver(tag: str, pattern: str, first: Any) -> None:
        Loader.add_implicit_resolver(tag, re.compile(pattern, re.X), list(first))

    resolver(_BOOL, r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF")
    resolver(_INT, r"^[-+]?[0-9]+$", "-+0123456789")
    resolver(
        _FLOAT,
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+0123456789.",
    )
    resolver(_NULL, r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""])
    resolver(_MERGE, r"^(?:<<)$", "<")
    return Loader


_HINTS = {
    "found character '\\t' that cannot start any token": "yaml.hint.tabs",
    "found character '\\t'": "yaml.hint.tabs",
    "mapping values are not allowed": "yaml.hint.colon",
    "could not find expected ':'": "yaml.hint.key",
    "found undefined alias": "yaml.hint.alias",
    "expected <block end>, but found": "yaml.hint.indent",
}


class Positions(MutableMapping[Path, Location]):
    """Where each value (or key) of a document is: a :class:`Location` made when it is asked
    for. A document read back from the cache (:mod:`.verdicts`) places ~2,400 values and keys,
    of which a load asks for ~300; making every Location up front was a sixth of a load."""

    __slots__ = ("_at", "file")

    def __init__(self, file: str, at: dict[Path, tuple[int, int]]) -> None:
        self.file = file
        self._at = at  # path → (line, column)

    def __getitem__(self, path: Path) -> Location:
        line, column = self._at[path]
        return Location(self.file, line, column)

    def __setitem__(self, path: Path, location: Location) -> None:
        self._at[path] = (location.line, location.column)

    def __delitem__(self, path: Path) -> None:
        del self._at[path]

    def __contains__(self, path: object) -> bool:
        return path in self._at

    def __iter__(self) -> Iterator[Path]:
        return iter(self._at)

    def __len__(self) -> int:
        return len(self._at)


@dataclass
class YamlDocument:
    """Plain data read from YAML, with the position of every value and key."""

    file: str
    data: Any
    value_locations: MutableMapping[Path, Location] = field(default_factory=dict)
    key_locations: MutableMapping[Path, Location] = field(default_factory=dict)
    quoted: set[Path] = field(default_factory=set)
    typed: dict[Path, str] = field(default_factory=dict)  # plain scalars as written
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

    def problem(self, mark: Any, message: str, expected: Msg | None = None, /, **args: Any) -> None:
        self.problems.append(Problem(_location(self.file, mark), Msg(message, **args), expected))


def _location(file: str, mark: Any) -> Location:
    if mark is None:
        return Location(file, 1, 1)
    return Location(file, mark.line + 1, mark.column + 1)


def _placed(file: str, text: str, index: int) -> Location:
    """The line and column of the character at ``index`` of ``text``."""
    return Location(file, text.count("\n", 0, index) + 1, index - text.rfind("\n", 0, index))


def decode(
    raw: bytes, file: str, max_bytes: int = MAX_BYTES, size: int | None = None
) -> tuple[str | None, Problem | None]:
    """Bytes to text, refusing files that are too large or not UTF-8.

    ``size`` is the file's real size when known (``raw`` may hold only its first bytes).
    """
    if len(raw) > max_bytes:
        return None, Problem(
            Location(file, 1, 1),
            Msg("file.too_large", size=f"{size:,}")
            if size is not None and size > max_bytes  # a device (/dev/zero) says 0: not its size
            else Msg("file.too_large_stream", size=f"{max_bytes:,}"),
            Msg("file.at_most", size=f"{max_bytes:,}"),
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, Problem(
            Location(file, line, 1),
            Msg("file.not_utf8", byte=f"0x{raw[exc.start]:02x}", offset=exc.start),
            Msg("file.save_utf8"),
        )
    return text, None


_FLOW_CHARS = re.compile(r"[\[\]{}\"'\n]")


def _too_deep(text: str) -> int | None:
    """Where ``[`` / ``{`` first nest deeper than ``MAX_DEPTH`` outside quotes (libyaml composes
    recursively in C, so this is looked at before it parses); None when they never do."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return None  # cannot nest deeper than the brackets there are (the usual case)
    depth = 0
    quote = ""
    for match in _FLOW_CHARS.finditer(text):  # only the characters that matter, found in C
        ch = match.group()
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return match.start()
        elif ch in "]}":
            depth -= 1
        elif ch == "\n":
            quote = ""
    return None


def read_yaml(text: str, file: str, alias_hint: str = "yaml.hint.write_out") -> YamlDocument:
    """Parse one YAML document into located plain data.

    Never raises for bad input: syntax errors and refused constructs are returned in
    ``problems`` (the data is ``None`` when the document could not be parsed at all).
    ``alias_hint``: what a refused alias is told to do instead (a measures file can name a
    category; a profile writes the value out).
    """
    import yaml

    doc = YamlDocument(file=file, data=None)
    deep = _too_deep(text)
    if deep is not None:  # named where it goes too deep, not at 1:1
        doc.problems.append(
            Problem(
                _placed(file, text, deep),
                Msg("yaml.too_deep"),
                Msg("yaml.at_most_levels", levels=MAX_DEPTH),
            )
        )
        return doc
    loader = _loader()(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        doc.problems.append(_syntax_problem(file, exc, text))
        return doc
    except yaml.reader.ReaderError as exc:  # a control character: named where it stands
        at = exc.position
        c_parser = getattr(getattr(yaml, "cyaml", None), "CParser", None)
        if c_parser is not None and issubclass(_loader(), c_parser):  # libyaml counts bytes
            at = len(text.encode("utf-8")[:at].decode("utf-8", "ignore"))
        at = min(max(at, 0), len(text))
        code = (
            exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "?")
        )
        doc.problems.append(
            Problem(
                _placed(file, text, at),
                Msg("yaml.control_character", code=f"U+{code:04X}"),
                Msg("yaml.hint.control_character"),
            )
        )
        return doc
    except yaml.YAMLError as exc:  # pragma: no cover - libyaml raises marked errors in practice
        doc.problem(None, "yaml.error", detail=str(exc))
        return doc
    finally:
        loader.dispose()
    if node is None:
        doc.problem(None, "file.empty")
        return doc
    builder = _Builder(doc, text.split("\n"))
    doc.data = builder.build(node, (), 0)
    if builder.aliases:
        _report_aliases(text, doc, alias_hint)
    return doc


#: aliases are refused; a "billion laughs" file has thousands, and a few lines say enough
MAX_ALIAS_REPORTS = 5


def _report_aliases(text: str, doc: YamlDocument, hint: str) -> None:
    """Name each alias where it stands (libyaml gives an alias the very node of its anchor)."""
    import yaml

    found = 0
    for event in yaml.parse(text, Loader=_loader()):
        if isinstance(event, yaml.AliasEvent):
            found += 1
            more = Msg("yaml.alias_more") if found == MAX_ALIAS_REPORTS else Msg("empty")
            doc.problem(
                event.start_mark,
                "yaml.alias",
                Msg(hint),
                name=event.anchor,
                more=more,
            )
            if found == MAX_ALIAS_REPORTS:
                return


def _syntax_problem(file: str, exc: yaml.MarkedYAMLError, text: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    if mark is not None and 0 <= mark.index < len(text) and text[mark.index] == "\t":
        return Problem(
            _location(file, mark),
            Msg("yaml.syntax", detail=_problem_words(exc.problem or "a tab")),
            Msg("yaml.hint.tabs"),
        )
    if "expected a single document" in str(exc) or "but found another document" in str(exc):
        return Problem(_location(file, mark), Msg("yaml.two_documents"), Msg("yaml.hint.separator"))
    upto = mark.line + 1 if mark is not None else text.count("\n") + 1
    found = _likely_cause(file, text, upto)
    if found is not None:
        return found
    if "could not find expected ':'" in (exc.problem or "") and exc.context_mark is not None:
        mark = exc.context_mark  # where the key without its colon begins, not the next line
    what = _problem_words(exc.problem or "invalid YAML")
    hint = next((Msg(h) for key, h in _HINTS.items() if key in (exc.problem or "")), None)
    return Problem(_location(file, mark), Msg("yaml.syntax", detail=what), hint)


_PROBLEM_WORDS = {
    "could not find expected ':'": "yaml.problem.colon",
    "mapping values are not allowed": "yaml.problem.mapping_here",
    "did not find expected key": "yaml.problem.key",
    "did not find expected '-' indicator": "yaml.problem.dash",
    "found unexpected end of stream": "yaml.problem.end",
    "found undefined alias": "yaml.problem.alias",
    "expected <block end>, but found": "yaml.problem.indent",
    "found character that cannot start any token": "yaml.problem.character",
    "found character '\\t' that cannot start any token": "yaml.problem.tab",
    "found a tab character": "yaml.problem.tab",
    "did not find expected ',' or ']'": "yaml.problem.bracket",
    "did not find expected ',' or '}'": "yaml.problem.brace",
}
"""libyaml's usual problems, said from the catalogue (its own English words otherwise)."""


def _problem_words(problem: str) -> Msg | str:
    return next((Msg(key) for start, key in _PROBLEM_WORDS.items() if start in problem), problem)


_FULL_WIDTH_COLON = re.compile(r"^[ ]*(?:-[ ]+)?([A-Za-z_][\w.-]*)[ ]*：")
_FULL_WIDTH_INDENT = re.compile(r"^[ ]*\u3000")
_FULL_WIDTH_AFTER_COLON = re.compile(r"^[ ]*(?:-[ ]+)?([A-Za-z_][\w.-]*):\u3000")
_OPENING_QUOTE = re.compile(r"^[ ]*(?:-[ ]+)?(?:[A-Za-z_][\w.-]*:[ ]+)?([\"'])")


def _likely_cause(file: str, text: str, upto: int) -> Problem | None:
    """What a policy officer most likely typed, on the lines up to where the parser gave up: a
    full-width colon after a key, a full-width space in the indentation, or a quote opened and
    never closed on its line. libyaml names the place it noticed, often a line or many lines
    later, in English (an unclosed quote surfaced 77 lines on). Text inside a block scalar
    (``|``, ``>``) or a quoted scalar that was read whole is text, not a slip: a paragraph
    pasted with its full-width indent, an 'Email：' line, a quote over two lines — unless it
    runs on to where the parser gave up."""
    # a quoted text that runs on to where the parser gave up is the open quote itself
    inside = [span for span in _quoted_and_block_spans(text) if span[1][0] < upto]

    def taken(line: int, column: int) -> bool:
        return any(a <= (line, column) < b for a, b in inside)

    lines = text.split("\n")[:upto]
    for pattern, message, hint in (
        (_FULL_WIDTH_COLON, "yaml.fullwidth_colon", "yaml.hint.fullwidth_colon"),
        (_FULL_WIDTH_INDENT, "yaml.fullwidth_space", "yaml.hint.fullwidth_space"),
        (_FULL_WIDTH_AFTER_COLON, "yaml.fullwidth_after_colon", "yaml.hint.after_colon"),
    ):
        for number, line_text in enumerate(lines, start=1):
            found = pattern.match(line_text)
            if found is not None and not taken(number, found.end()):
                key = found.group(1) if found.groups() else ""
                return Problem(
                    Location(file, number, found.end()), Msg(message, key=key), Msg(hint)
                )
    for number, line_text in reversed(list(enumerate(lines, start=1))):
        opened = _OPENING_QUOTE.match(line_text)
        if opened is None or taken(number, opened.end()):
            continue
        quote = opened.group(1)
        rest = line_text[opened.end() :]
        rest = (
            rest.replace("''", "") if quote == "'" else re.sub(r"\\\\|\\\"", "", rest)
        )  # '' inside '…', and \\ or \" inside "…", are not the closing quote
        if quote not in rest:
            return Problem(
                Location(file, number, opened.end()),
                Msg("yaml.open_quote", quote=quote),
                Msg("yaml.hint.open_quote", quote=quote),
            )
    return None


def _quoted_and_block_spans(text: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Where each quoted or block scalar read whole before the parser gave up begins and ends,
    as (line, column) pairs counted from 1."""
    import yaml

    spans = []
    try:
        for token in yaml.scan(text, Loader=_loader()):
            if isinstance(token, yaml.ScalarToken) and token.style in ("|", ">", '"', "'"):
                a, b = token.start_mark, token.end_mark
                spans.append(((a.line + 1, a.column + 1), (b.line + 1, b.column + 1)))
    except yaml.YAMLError:
        pass  # the slip itself: what was read before it is enough
    return spans


def _as_written(tag: str) -> str:
    """A YAML tag as it is written in a file: ``!!bool``, not ``tag:yaml.org,2002:bool``."""
    return (
        "!!" + tag.removeprefix("tag:yaml.org,2002:")
        if tag.startswith("tag:yaml.org,2002:")
        else tag
    )


class _Builder:
    """Checks a composed node tree and turns it into plain data."""

    def __init__(self, doc: YamlDocument, lines: list[str]) -> None:
        self.doc = doc
        self.lines = lines
        self.seen: set[int] = set()
        self.aliases = 0

    def _tagged(self, node: yaml.Node) -> bool:
        """Whether the node is written with an explicit tag (``!!bool "是"``, ``!!int "abc"``):
        the tag's own reading skipped every check of a plain value — "是" was read as false,
        "abc" raised ValueError (found by a hostile-input review)."""
        mark = node.start_mark
        line = self.lines[mark.line] if 0 <= mark.line < len(self.lines) else ""
        return line[mark.column : mark.column + 1] == "!"

    def build(self, node: yaml.Node, path: Path, depth: int) -> Any:
        import yaml

        doc = self.doc
        doc.value_locations[path] = _location(doc.file, node.start_mark)
        if id(node) in self.seen:  # an alias: libyaml gives it the very node of its anchor
            self.aliases += 1
            return None
        self.seen.add(id(node))
        if depth > MAX_DEPTH:
            doc.problem(
                node.start_mark, "yaml.too_deep", Msg("yaml.at_most_levels", levels=MAX_DEPTH)
            )
            return None
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path)
        if node.tag not in (_SEQ, _MAP):
            doc.problem(
                node.start_mark,
                "yaml.tag",
                Msg("yaml.hint.plain_collections"),
                tag=_as_written(node.tag),
            )
            return None
        if isinstance(node, yaml.SequenceNode):
            return [self.build(child, (*path, i), depth + 1) for i, child in enumerate(node.value)]
        assert isinstance(node, yaml.MappingNode)
        return self.mapping(node, path, depth)

    def mapping(self, node: yaml.MappingNode, path: Path, depth: int) -> dict[str, Any]:
        import yaml

        doc = self.doc
        result: dict[str, Any] = {}
        first_seen: dict[str, Location] = {}
        for key_node, value_node in node.value:
            key_loc = _location(doc.file, key_node.start_mark)
            if key_node.tag == _MERGE:
                doc.problem(key_node.start_mark, "yaml.merge", Msg("yaml.hint.write_keys"))
                self.build(value_node, (*path, "<<"), depth + 1)  # an alias in it is named too
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                doc.problem(key_node.start_mark, "yaml.key_not_word")
                continue
            key = str(key_node.value)
            if key in first_seen:
                doc.problem(
                    key_node.start_mark,
                    "yaml.duplicate_key",
                    Msg("yaml.hint.first_at", line=first_seen[key].line),
                    key=key,
                )
                continue
            first_seen[key] = key_loc
            doc.key_locations[(*path, key)] = key_loc
            result[key] = self.build(value_node, (*path, key), depth + 1)
        return result

    def scalar(self, node: yaml.ScalarNode, path: Path) -> Any:
        value: str = node.value
        tag = node.tag
        if self._tagged(node):
            self.doc.problem(
                node.start_mark, "yaml.tag", Msg("yaml.hint.plain_values"), tag=_as_written(tag)
            )
            return None
        if node.style in ("'", '"'):
            self.doc.quoted.add(path)
        elif tag != _STR:
            self.doc.typed[path] = value
        if tag == _STR:
            return value
        if tag == _NULL:
            return None
        if tag == _BOOL:
            return value.lower() == "true"
        if tag in (_INT, _FLOAT):
            digits = sum(c.isdigit() for c in value)
            if digits > MAX_DIGITS:
                self.doc.problem(
                    node.start_mark,
                    "yaml.long_number",
                    Msg("yaml.hint.digits", digits=MAX_DIGITS),
                    digits=digits,
                )
                return None
            if tag == _INT:
                return int(value)
            low = value.lower()
            if "inf" in low or "nan" in low:
                return float(low.replace(".inf", "inf").replace(".nan", "nan"))
            return written_float(value)
        self.doc.problem(
            node.start_mark, "yaml.tag", Msg("yaml.hint.plain_values"), tag=_as_written(tag)
        )
        return None
