"""Files shipped inside the package, found beside this module.

In the wheel, ``policy_kb/_data`` holds measures.yaml, ``ontology/`` and ``sources/`` (the build
copies them from the repository root); in a checkout the same names are links to the root. The
files are read from the installed package's folder (``pathlib``), not through
``importlib.resources``, whose import alone took longer than loading measures.yaml; the package
is installed as files (a wheel), never imported from a zip.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from ..errors import OntologyError
from ..text import Msg

PACKAGE = Path(__file__).resolve().parent.parent  # the installed policy_kb folder


def data_file(*parts: str) -> Path:
    """A shipped data file: ``data_file("ontology", "policy_kb.ttl")``."""
    return PACKAGE.joinpath("_data", *parts)


def read_data_text(*parts: str) -> str:
    """The text of a shipped data file; :class:`OntologyError` when it is missing."""
    try:
        return data_file(*parts).read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise OntologyError(
            Msg("package.missing_file", name="/".join(parts), detail=str(exc))
        ) from None


@cache
def schema_bytes(name: str) -> bytes:
    """The bytes of a JSON Schema shipped in ``policy_kb/schemas`` (read once)."""
    return PACKAGE.joinpath("schemas", f"{name}.schema.json").read_bytes()


@cache
def schema(name: str) -> dict[str, Any]:
    """A JSON Schema shipped in ``policy_kb/schemas`` (parsed once; treat as read-only)."""
    result: dict[str, Any] = json.loads(schema_bytes(name).decode("utf-8"))
    return result
