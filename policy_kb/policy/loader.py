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

import contextlib
import os
from pathlib import Path as FsPath

from ..cache import sha256_hex
from ..errors import MeasuresFileError, Problem
from ..text import Msg
from . import verdicts
from .model import PolicyModel
from .reader import Reader, SourceResolver
from .resources import data_file
from .rulesets import build_model
from .yamlsource import MAX_BYTES, decode, read_yaml


def load_model(path: str | os.PathLike[str] | None = None) -> PolicyModel:
    """Load and validate a measures file: the shipped one when ``path`` is None.

    Raises :class:`MeasuresFileError` listing every problem, or saying why the file cannot be
    read at all (missing, a folder, no permission).
    """
    if path is None:
        raw = data_file("measures.yaml").read_bytes()
        return parse_model(raw, "measures.yaml", _packaged_resolver(data_file()))
    fs_path = FsPath(path)
    try:
        with fs_path.open("rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
            size = os.fstat(fh.fileno()).st_size
    except OSError as exc:
        raise MeasuresFileError.unreadable(str(path), exc) from None
    return parse_model(raw, str(path), _file_resolver(fs_path.parent), size)


def files_read(model: PolicyModel) -> list[FsPath]:
    """The files a knowledge base rests on — its measures file and the source text beside it,
    and every file the package ships (measures.yaml, ``ontology/``, ``sources/``): no output may
    be written over one (``export -o measures.yaml`` in a checkout replaced the policy with
    Turtle; found by a hostile-input review). Links are followed when outputs are compared."""
    found = [data_file("measures.yaml")]
    for folder in ("ontology", "sources"):
        with contextlib.suppress(OSError):
            found += sorted(data_file(folder).iterdir())
    here = FsPath(model.file)  # the shipped file's name is relative: the folder's file is kept too
    return [*found, here, here.parent.joinpath(*model.document.source_file.split("/"))]


def _read_source(node: FsPath) -> str | None:
    try:
        return node.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _packaged_resolver(root: FsPath) -> SourceResolver:
    def resolve(relative: str) -> str | None:
        node: FsPath = root
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
    raw: bytes,
    file: str,
    resolve_source: SourceResolver,
    size: int | None = None,
    use_kept: bool = True,
) -> PolicyModel:
    """Validate the bytes of a measures file named ``file`` and build its model.

    ``use_kept``: read the composed document kept for these bytes, when there is one
    (:mod:`.verdicts`), instead of composing the YAML again.
    """
    text, problem = decode(raw, file, size=size)
    if text is None:
        raise MeasuresFileError([problem] if problem else [], file)
    sha256 = sha256_hex(raw)
    doc = verdicts.sound_document(sha256, file) if use_kept else None
    sound = doc is not None  # these bytes passed every check before
    if doc is None:
        doc = read_yaml(text, file)
    if doc.data is None and doc.problems:
        raise MeasuresFileError(doc.problems, file)
    if not isinstance(doc.data, dict):  # '~' alone, a list, a text: no sections (said, not 0)
        doc.problems.append(
            Problem(doc.at(()), Msg("measures.not_mapping"), Msg("measures.hint.sections"))
        )
        raise MeasuresFileError(doc.problems, file)
    shape_problems: list[Problem] = []
    broken: set[tuple[str | int, ...]] = set()
    if not sound:
        from .structure import check_structure  # the JSON Schema check, and its library

        shape_problems, broken = check_structure(doc)
        # a value the YAML reader refused (a tag, a long number) is said once, not again as empty
        said = {p.location for p in doc.problems}
        shape_problems = [p for p in shape_problems if p.location not in said]
    reader = Reader(doc, broken, resolve_source, [*doc.problems, *shape_problems])
    model = build_model(reader, sha256)
    if reader.problems or model is None:
        if sound:  # a kept document that no longer builds: read the file itself
            return parse_model(raw, file, resolve_source, size, use_kept=False)
        raise MeasuresFileError(reader.problems, file)
    if not sound:
        verdicts.remember_sound(sha256, doc)
    return model
