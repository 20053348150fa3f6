"""Files shipped inside the package, read through ``importlib.resources``.

In the wheel, ``policy_kb/_data`` holds measures.yaml, ``ontology/`` and ``sources/`` (the build
copies them from the repository root); in a checkout the same names are links to the root.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any

from ..errors import OntologyError
from ..text import Msg


def data_file(*parts: str) -> Traversable:
    """A shipped data file: ``data_file("ontology", "policy_kb.ttl")``."""
    node = files("policy_kb").joinpath("_data")
    for part in parts:
        node = node.joinpath(part)
    return node


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
    return files("policy_kb").joinpath("schemas").joinpath(f"{name}.schema.json").read_bytes()


@cache
def schema(name: str) -> dict[str, Any]:
    """A JSON Schema shipped in ``policy_kb/schemas`` (parsed once; treat as read-only)."""
    result: dict[str, Any] = json.loads(schema_bytes(name).decode("utf-8"))
    return result
