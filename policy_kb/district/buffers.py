"""Arrow arrays to and from numpy through their buffers.

``pyarrow.array`` and ``Array.to_numpy`` look for pandas on first use and import it when it is
installed (0.2 s, more than reading a 200,000-row batch); building the arrays from their buffers
gives the same arrays without it. Bitmaps are least significant bit first, as Arrow lays them out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

_NUMPY = {
    pa.int8(): np.int8,
    pa.int16(): np.int16,
    pa.int32(): np.int32,
    pa.int64(): np.int64,
    pa.uint8(): np.uint8,
    pa.uint16(): np.uint16,
    pa.uint32(): np.uint32,
    pa.uint64(): np.uint64,
    pa.float16(): np.float16,
    pa.float32(): np.float32,
    pa.float64(): np.float64,
}


def _bitmap(bits: NDArray[np.bool_]) -> pa.Buffer:
    return pa.py_buffer(np.packbits(bits, bitorder="little"))


def _validity(null: NDArray[np.bool_] | None) -> tuple[pa.Buffer | None, int]:
    if null is None:
        return None, 0
    count = int(np.count_nonzero(null))
    return (_bitmap(~null), count) if count else (None, 0)


def numbers(values: NDArray[Any], null: NDArray[np.bool_] | None = None) -> pa.Array:
    """A numeric array from numpy (``null`` marks the cells that are null)."""
    data = np.ascontiguousarray(values)
    kind = pa.from_numpy_dtype(data.dtype)
    validity, count = _validity(null)
    return pa.Array.from_buffers(kind, len(data), [validity, pa.py_buffer(data)], null_count=count)


def booleans(values: NDArray[np.bool_], null: NDArray[np.bool_] | None = None) -> pa.Array:
    """A boolean array from a numpy mask."""
    validity, count = _validity(null)
    return pa.Array.from_buffers(
        pa.bool_(),
        len(values),
        [validity, _bitmap(np.asarray(values, dtype=bool))],
        null_count=count,
    )


def texts(items: Sequence[str | None]) -> pa.Array:
    """A string array from Python strings and Nones."""
    n = len(items)
    if all(item is None for item in items):
        return pa.nulls(n, pa.string())
    encoded = [b"" if item is None else item.encode("utf-8") for item in items]
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    null = np.array([item is None for item in items], dtype=bool)
    validity, count = _validity(null)
    buffers = [validity, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))]
    return pa.Array.from_buffers(pa.string(), n, buffers, null_count=count)


def codes(
    indices: NDArray[np.int8], words: pa.Array, null: NDArray[np.bool_] | None = None
) -> pa.Array:
    """A dictionary array: ``indices`` into ``words``."""
    # the codes are the engine's own (always within the words): not checked again
    return pa.DictionaryArray.from_arrays(
        numbers(indices.astype(np.int8, copy=False), null), words, safe=False
    )


def present(arrow: pa.Array) -> NDArray[np.bool_]:
    """True where the cell is not null."""
    validity = arrow.buffers()[0]
    if arrow.null_count == 0 or validity is None:
        return np.ones(len(arrow), dtype=bool)
    return bits(validity, arrow.offset, len(arrow))


def bits(buffer: pa.Buffer, offset: int, n: int) -> NDArray[np.bool_]:
    """An Arrow bitmap as a numpy bool array."""
    raw = np.frombuffer(buffer, dtype=np.uint8)
    unpacked: NDArray[np.bool_] = np.unpackbits(raw, bitorder="little", count=offset + n)[
        offset:
    ].view(bool)
    return unpacked


def floats(arrow: pa.Array) -> NDArray[np.float64]:
    """A numeric column as float64, NaN where it is null."""
    kind = _NUMPY.get(arrow.type)
    if kind is None:  # not a plain number type: Arrow converts it
        converted: NDArray[np.float64] = np.asarray(
            arrow.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64
        )
        return converted
    data = np.frombuffer(arrow.buffers()[1], dtype=kind, count=arrow.offset + len(arrow))
    values = data[arrow.offset :].astype(np.float64)
    if arrow.null_count:
        values[~present(arrow)] = np.nan
    return values
