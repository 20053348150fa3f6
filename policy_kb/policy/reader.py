"""What every section builder of the loader shares: the document, its broken paths, the problems.

:class:`Reader` also checks that a quote occurs verbatim in the source text and, when it does
not, says exactly where the two part.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import Location, Problem
from ..text import Msg
from .structure import where_of
from .yamlsource import Path, YamlDocument

SourceResolver = Callable[[str], "str | None"]


@dataclass
class Reader:
    """What every section builder shares: the document, its broken paths and the problems."""

    doc: YamlDocument
    broken: set[Path]
    resolve_source: SourceResolver
    problems: list[Problem] = field(default_factory=list)
    source_text: str | None = None

    @property
    def data(self) -> dict[str, Any]:
        result: dict[str, Any] = self.doc.data
        return result

    def ok(self, path: Path) -> bool:
        """Whether the part at ``path`` passed the shape check (nothing broken in or above it)."""
        n = len(path)
        return not any(b[:n] == path or path[: len(b)] == b for b in self.broken)

    def section(self, key: str) -> dict[str, Any]:
        value = self.data.get(key)
        return value if isinstance(value, dict) else {}

    def entries(self, key: str) -> dict[str, dict[str, Any]]:
        """The named entries of a top-level mapping (facts, parameters…) that are mappings; any
        other value is a shape problem the schema has already reported."""
        return {k: v for k, v in self.section(key).items() if isinstance(v, dict)}

    def problem(
        self, at: Location, message: str, expected: Msg | None = None, /, **args: Any
    ) -> None:
        self.problems.append(Problem(at, Msg(message, **args), expected))

    def at(self, path: Path) -> Location:
        return self.doc.at(path)

    def key_at(self, path: Path) -> Location:
        return self.doc.key_at(path)

    def of(self, path: Path) -> Msg:
        return where_of(self.data, path)

    def verbatim(
        self, text: Any, path: Path, what: str, within: str | None = None, owner: str = ""
    ) -> None:
        """Check that ``text`` occurs in the source text (in ``within``, when given), verbatim."""
        source = self.source_text
        if not isinstance(text, str) or source is None:
            return
        if text in (within if within is not None else source):
            return
        what_msg = Msg("quote." + what)
        if within is not None and text in source:
            self.problem(
                self.at(path),
                "quote.other_clause",
                Msg("quote.hint.own_clause", owner=owner),
                what=what_msg,
                where=self.of(path),
                owner=owner,
            )
            return
        matched = _longest_prefix_in(text, source)
        loc = self.doc.text_at(path)
        if matched == 0:
            self.problem(
                loc, "quote.absent", Msg("quote.hint.verbatim"), what=what_msg, where=self.of(path)
            )
            return
        anchor = source.find(text[:matched])
        source_next = source[anchor + matched : anchor + matched + 8].split("\n")[0]
        at = (
            Location(loc.file, loc.line, loc.column + matched)
            if "\n" not in text[:matched]
            else loc
        )
        self.problem(
            at,
            "quote.differs",
            Msg("quote.hint.exact"),
            what=what_msg,
            where=self.of(path),
            position=matched + 1,
            file_next=text[matched : matched + 8],
            source_next=source_next,
        )


def _longest_prefix_in(text: str, haystack: str) -> int:
    """The length of the longest prefix of ``text`` that occurs in ``haystack``."""
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if text[:mid] in haystack:
            lo = mid
        else:
            hi = mid - 1
    return lo
