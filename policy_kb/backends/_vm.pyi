"""Types of the column back-end's machine (``_vm.c``); see :mod:`policy_kb.backends.program`."""

from collections.abc import Mapping, Sequence
from typing import Any

CHUNK: int
WIDTH: int
XREGS: int
OPS: Mapping[str, int]

def run(
    init: Any,
    body: Any,
    xcode: Any,
    sizes: tuple[int, int],
    dconst: Any,
    xconst: Any,
    dtab: Any,
    xtab: Any,
    inputs: Sequence[Any],
    outputs: Sequence[Any],
    n: int,
    bounds: Sequence[int] | None = None,
    /,
) -> None: ...
def check(
    inputs: Sequence[Any],
    specs: Sequence[tuple[float, float, int]],
    pairs: Sequence[tuple[int, int]],
    n: int,
    invalid: Any,
    bounds: Sequence[int] | None = None,
    /,
) -> None: ...
def counts(codes: Sequence[Any], valid: Any, /) -> list[tuple[int, int, int, int]]: ...
def fen_total(amounts: Any, mask: Any, /) -> int: ...
def csv_rows(data: Any, /) -> int: ...
def tiny(data: Any, /) -> bool: ...
def csv(
    data: Any,
    rows: int,
    kinds: str,
    yes: tuple[bytes, ...],
    no: tuple[bytes, ...],
    buffers: Sequence[tuple[Any, ...]],
    /,
) -> list[tuple[int, int, tuple[bytes, ...] | None]] | None: ...
