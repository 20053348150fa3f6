"""CSV rows of the plain shape, parsed in one pass by the engine's machine.

Most rosters are written by a spreadsheet or a database in one shape: no quotes, one row per
line, whole numbers or decimals (yuan and fen), ``true`` / ``false`` (or 是 / 否 …), text without
commas. A slice of such rows is parsed here by the machine's C reader (``_vm.csv``) straight into
Arrow's layout — values, validity bitmaps, text offsets — in one pass and without type inference.
A decimal of at most 15 digits is its digits divided by a power of ten, both exact as doubles, so
the quotient is the correctly rounded value pyarrow's parser gives. A slice of any other shape (a
quote, an exponent, a longer decimal, a bare CR, an empty line, a cell that is not a word the
reader knows, a row with too few or too many cells) is not: :func:`plain_table` returns None and
the caller reads it with pyarrow's CSV reader as before. What the fast path accepts therefore reads exactly as
pyarrow reads it (a test parses the same slices both ways), only about four times faster.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from ..backends.columns import machine
from .buffers import texts

#: the reader's letter for each Arrow type asked for (anything else is read as text)
_NUMBER, _FLAG, _TEXT, _WORDS = "f", "b", "s", "d"


def _kind(kind: pa.DataType | None) -> str:
    if kind is None:
        return _TEXT
    if kind == pa.float64():
        return _NUMBER
    if kind == pa.bool_():
        return _FLAG
    if pa.types.is_dictionary(kind) and pa.types.is_string(kind.value_type):
        return _WORDS
    return _TEXT


def plain_table(
    data: pa.Buffer,
    header: Sequence[str],
    types: Mapping[str, pa.DataType],
    yes: Sequence[str],
    no: Sequence[str],
) -> pa.Table | None:
    """The rows of ``data`` (whole CSV rows, no header) as a table of ``header``'s columns typed
    as ``types`` asks (float64, bool, a dictionary of strings; text otherwise), when every row is
    of the plain shape; None when one is not. ``yes`` / ``no`` are the words a yes/no cell may
    hold, spelt exactly."""
    if not len(data) or not header:
        return None  # pyarrow says what is wrong with an empty slice
    if data[:3].to_pybytes() == b"\xef\xbb\xbf":
        return None  # pyarrow leaves out a byte-order mark at the start; so must this reading
    kinds = "".join(_kind(types.get(name)) for name in header)
    vm = machine()
    rows = vm.csv_rows(data)
    bitmap = (rows + 7) // 8
    buffers: list[tuple[np.ndarray, ...]] = []
    for kind in kinds:
        valid = np.zeros(bitmap, dtype=np.uint8)
        if kind == _NUMBER:
            buffers.append((np.empty(rows, dtype=np.float64), valid))
        elif kind == _FLAG:
            buffers.append((np.zeros(bitmap, dtype=np.uint8), valid))
        elif kind == _TEXT:
            buffers.append(
                (np.empty(rows + 1, dtype=np.int32), np.empty(len(data), np.uint8), valid)
            )
        else:
            buffers.append((np.empty(rows, dtype=np.int32), np.empty(len(data), np.uint8), valid))
    found = vm.csv(data, rows, kinds, _spelt(yes), _spelt(no), buffers)
    if found is None:
        return None
    arrays = [
        _array(kind, rows, parts, nulls, used, words)
        for kind, parts, (nulls, used, words) in zip(kinds, buffers, found, strict=True)
    ]
    return pa.Table.from_arrays(arrays, names=list(header))


def _spelt(words: Sequence[str]) -> tuple[bytes, ...]:
    """The words as bytes, the most usual spelling (lower case) first: tried in this order."""
    return tuple(w.encode("utf-8") for w in sorted(words, key=lambda w: (w != w.lower(), w)))


def _array(
    kind: str,
    rows: int,
    parts: tuple[np.ndarray, ...],
    nulls: int,
    used: int,
    words: tuple[bytes, ...] | None,
) -> Any:
    valid = pa.py_buffer(parts[-1]) if nulls else None
    if kind == _NUMBER:
        return pa.Array.from_buffers(
            pa.float64(), rows, [valid, pa.py_buffer(parts[0])], null_count=nulls
        )
    if kind == _FLAG:
        return pa.Array.from_buffers(
            pa.bool_(), rows, [valid, pa.py_buffer(parts[0])], null_count=nulls
        )
    if kind == _TEXT:
        return pa.Array.from_buffers(
            pa.string(),
            rows,
            [valid, pa.py_buffer(parts[0]), pa.py_buffer(parts[1][:used])],
            null_count=nulls,
        )
    indices = pa.Array.from_buffers(
        pa.int32(), rows, [valid, pa.py_buffer(parts[0])], null_count=nulls
    )
    dictionary = texts([w.decode("utf-8") for w in words or ()])
    return pa.DictionaryArray.from_arrays(indices, dictionary, safe=False)


__all__ = ["plain_table"]
