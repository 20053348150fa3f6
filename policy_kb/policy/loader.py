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
from importlib.resources.abc import Traversable
from pathlib import Path as FsPath

from ..errors import MeasuresFileError, Problem
from ..text import Msg
from . import verdicts
from .model import PolicyModel
from .reader import Reader, SourceResolver
from .resources import data_file
from .rulesets import build_model
from .structure import check_structure
from .yamlsource import MAX_BYTES, decode, read_yaml


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
    sha256 = hashlib.sha256(raw).hexdigest()
    sound = not doc.problems and verdicts.known_sound(sha256)
    shape_problems, broken = ([], set()) if sound else check_structure(doc)
    reader = Reader(doc, broken, resolve_source, [*doc.problems, *shape_problems])
    model = build_model(reader, sha256)
    if reader.problems or model is None:
        raise MeasuresFileError(reader.problems, file)
    if not sound:
        verdicts.remember_sound(sha256)
    return model
