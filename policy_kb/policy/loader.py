"""measures.yaml → validated :class:`PolicyModel`, or every problem at once.

The file is read by the safe, position-keeping reader (:mod:`.yamlsource`) and its shape checked
against the shipped JSON Schema (:mod:`.structure`). The section builders (:mod:`.sections` for
the document, facts, parameters and 附件2; :mod:`.rulesets` for categories, measures, benefits and
the tech-SME evaluation) then check what a schema cannot — conditions, verbatim quotes, sums,
dates — on the parts whose shape passed, so they never re-check a shape. Every problem is
collected in one pass and raised together as :class:`MeasuresFileError`: a file with any problem
is never half-loaded.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from pathlib import Path as FsPath
from typing import Any

from ..errors import Location, MeasuresFileError, Problem
from ..text import Msg
from .model import PolicyModel
from .resources import data_file
from .structure import check_structure, where_of
from .yamlsource import MAX_BYTES, Path, YamlDocument, decode, read_yaml

SourceResolver = Callable[[str], "str | None"]


def load_model(path: str | os.PathLike[str] | None = None) -> PolicyModel:
    """Load and validate a measures file: the shipped one when ``path`` is None.

    Raises :class:`MeasuresFileError` listing every problem, or :class:`OSError` when the file
    cannot be read at all.
    """
    if path is None:
        raw = data_file("measures.yaml").read_bytes()
        return parse_model(raw, "measures.yaml", _packaged_resolver(data_file()))
    fs_path = FsPath(path)
    with fs_path.open("rb") as fh:
        raw = fh.read(MAX_BYTES + 1)
        size = os.fstat(fh.fileno()).st_size
    return parse_model(raw, str(path), _file_resolver(fs_path.parent), size)


def _read_source(node: Traversable | FsPath) -> str | None:
    try:
        return node.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _packaged_resolver(root: Traversable) -> SourceResolver:
    def resolve(relative: str) -> str | None:
        node: Traversable = root
        for part in relative.split("/"):
            node = node.joinpath(part)
        return _read_source(node)

    return resolve


def _file_resolver(directory: FsPath) -> SourceResolver:
    packaged = _packaged_resolver(data_file())

    def resolve(relative: str) -> str | None:
        candidate = directory / relative
        if candidate.is_file():
            return _read_source(candidate)
        return packaged(relative)

    return resolve


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


def parse_model(
    raw: bytes, file: str, resolve_source: SourceResolver, size: int | None = None
) -> PolicyModel:
    """Validate the bytes of a measures file named ``file`` and build its model."""
    text, problem = decode(raw, file, size=size)
    if text is None:
        raise MeasuresFileError([problem] if problem else [], file)
    doc = read_yaml(text, file)
    if doc.data is None:
        raise MeasuresFileError(doc.problems, file)
    if not isinstance(doc.data, dict):
        doc.problems.append(
            Problem(doc.at(()), Msg("measures.not_mapping"), Msg("measures.hint.sections"))
        )
        raise MeasuresFileError(doc.problems, file)
    shape_problems, broken = check_structure(doc)
    reader = Reader(doc, broken, resolve_source, [*doc.problems, *shape_problems])
    from .rulesets import build_model

    model = build_model(reader, hashlib.sha256(raw).hexdigest())
    if reader.problems or model is None:
        raise MeasuresFileError(reader.problems, file)
    return model
