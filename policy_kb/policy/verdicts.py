"""Measures files this version of policy_kb has already read and found structurally sound.

Reading measures.yaml is mostly two things that give the same result for the same bytes: composing
the YAML (about two thirds of a load) and checking it against the JSON Schema (the schema library
alone takes longer to import than the rest of the package). So when a file has passed every check,
its composed document — the plain data and the line and column of every value and key — is kept
in the cache folder (:mod:`policy_kb.cache`), keyed by the package version, the schema and the
file's bytes. A later load of the same bytes reads that JSON instead of the YAML, skips the schema
check and still builds the model and runs every other check; a kept document that does not build
is set aside and the file read again (:func:`policy_kb.policy.loader.parse_model`).
"""

from __future__ import annotations

import math
from typing import Any

from .. import cache
from .resources import schema_bytes
from .yamlsource import Positions, YamlDocument

FORMAT = b"1"  # the layout of a kept document


def _kept(file_sha256: str) -> Any:
    return cache.entry("sound", FORMAT, schema_bytes("measures"), file_sha256.encode())


def sound_document(file_sha256: str, file: str) -> YamlDocument | None:
    """The composed document of bytes found sound before, located in ``file``; else None."""
    stored = cache.read(_kept(file_sha256))
    if stored is None:
        return None
    try:
        doc = YamlDocument(file=file, data=stored["data"])
        doc.value_locations = Positions(
            file, {tuple(p): (line, col) for p, line, col in stored["values"]}
        )
        doc.key_locations = Positions(
            file, {tuple(p): (line, col) for p, line, col in stored["keys"]}
        )
        doc.quoted = {tuple(p) for p in stored["quoted"]}
        doc.typed = {tuple(p): text for p, text in stored["typed"]}
    except (ValueError, KeyError, TypeError):
        return None  # not what this version writes: read the YAML
    return doc


def remember_sound(file_sha256: str, doc: YamlDocument) -> None:
    """Keep the composed document of bytes that passed every check."""
    if not _plain(doc.data):
        return
    cache.write(
        _kept(file_sha256),
        {
            "data": doc.data,
            "values": [[list(p), loc.line, loc.column] for p, loc in doc.value_locations.items()],
            "keys": [[list(p), loc.line, loc.column] for p, loc in doc.key_locations.items()],
            "quoted": [list(p) for p in doc.quoted],
            "typed": [[list(p), text] for p, text in doc.typed.items()],
        },
    )


def _plain(value: Any) -> bool:
    """True when JSON gives ``value`` back exactly (no infinite or NaN number)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(type(k) is str and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return value is None or isinstance(value, (str, int, bool))
