"""Cells of a roster batch → columns for the engine: every cell checked, every bad row explained.

Each Arrow column is converted on its own: numbers and booleans straight from Arrow's buffers,
text with pyarrow's compute functions (imported on the first text cell) (a cell that does not read as a number becomes a null,
which marks the row as invalid). An empty cell is unknown. An invalid row gets the message the per-profile
validator gives for that row, with its spreadsheet row number; the other rows go on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from ..backends.columns import (
    BITS,
    F64,
    GAPS_BITS,
    GAPS_BYTES,
    I32,
    I64,
    VALUES,
    CellCheck,
    Column,
    Columns,
    Source,
)
from ..errors import ProfileError, ProfileIssue
from ..policy.model import NUMERIC, YEAR_RANGE, FactDef, FactType, PolicyModel
from ..policy.profile import (
    CONTROLS,
    MAX_TEXT,
    NO_WORDS,
    YES_WORDS,
    is_text,
    validate_profile,
    yes_no,
)
from ..policy.yamlsource import OutOfRange, written_float
from ..text import Msg, Words
from .buffers import bits, booleans, floats, numbers, present, texts

_TEXTS = (FactType.TEXT, FactType.TOWN)
# scalars taken from arrays: pa.scalar() of a Python value imports pandas when it is installed
_NO_TEXT = pa.nulls(1, pa.string())[0]
_EMPTY = texts([""])[0]
_FALSE = booleans(np.zeros(1, dtype=bool))[0]
#: the column a file's reader adds to a batch for rows refused for their shape: the number of
#: cells of a row it could not split into the header's cells (kept in its place, every cell
#: empty), 0 for an empty row (an empty line of a CSV, an empty row of a sheet between rows);
#: null on every other row. Its field's metadata ``expected`` holds the header's count. A batch
#: not read from a file has no such column: a row with every cell null is then a profile with
#: every fact unknown, as ``{}`` is.
CELLS_COLUMN = "policy_kb:cells"
#: what a cell must look like to be read as a number (as the per-profile validator reads one)
_NUMBER = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
#: a number written with a digit other than 0 before its exponent: not 0, whatever it is read as
_NOT_ZERO = r"^[^eE]*[1-9]"
#: 16 significant digits or more before the exponent: maybe more than a float holds
_LONG = r"[1-9](\.?[0-9]){15}"


@dataclass(frozen=True)
class RowError:
    """A row that failed validation: its spreadsheet row number and why."""

    row: int
    facts: tuple[str, ...]
    issues: tuple[ProfileIssue, ...]

    def render(self, lang: str = "zh") -> str:
        return Msg("roster.row", row=self.row, message=self.message_in(lang)).render(lang)

    def message_in(self, lang: str) -> str:
        return Words([i.message for i in self.issues], "semi").render(lang)

    @property
    def message(self) -> str:
        return self.message_in("zh")

    def to_dict(self, lang: str = "zh") -> dict[str, Any]:
        """The row as the JSON of every roster command lists it: row, facts, message."""
        return {"row": self.row, "facts": list(self.facts), "message": self.message_in(lang)}

    def __str__(self) -> str:
        return self.render()


# ── converting and validating a batch ────────────────────────────────────────────────────────


@dataclass
class Batch:
    """One batch of rows, converted: columns for the engine, row numbers, errors, texts.

    ``errors`` (refused rows by spreadsheet row number) is complete once the number cells are
    checked: reading it checks them when the engine has not yet (see :class:`CellCheck`)."""

    first_row: int
    columns: Columns
    found: dict[int, RowError]
    name_column: pa.Array  # text, null where unknown or invalid
    town_column: pa.Array
    cells: Mapping[str, pa.Array] = field(default_factory=dict)  # fact → the column as read

    @property
    def errors(self) -> dict[int, RowError]:
        """The refused rows, by spreadsheet row number, with why."""
        _ = self.columns.valid  # the number cells checked first, if they are not yet
        return self.found

    def profile(self, i: int, model: PolicyModel) -> dict[str, Any]:
        """Row ``i``'s cells as a profile (numbers and yes/no parsed as a profile's would be)."""
        return {
            fact: cell_value(model.facts[fact].type, array[i].as_py())
            for fact, array in self.cells.items()
        }

    @property
    def names(self) -> np.ndarray:
        """Each row's enterprise name, or None."""
        return _objects(self.name_column)

    @property
    def towns(self) -> np.ndarray:
        """Each row's town, or None when unknown or invalid."""
        return _objects(self.town_column)


def _objects(column: pa.Array) -> np.ndarray:
    if column.null_count == len(column):
        return np.full(len(column), None, dtype=object)
    return np.array(column.to_pylist(), dtype=object)


def convert_batch(
    model: PolicyModel,
    batch: pa.RecordBatch | pa.Table,
    mapping: Mapping[str, str],
    first_row: int,
) -> Batch:
    """Columns for the engine from one batch; invalid cells mark their row.

    Integers, doubles and yes/no columns are handed to the engine as Arrow laid them out, and
    their cells are checked against each fact's bounds by the engine's machine as it evaluates
    them (:func:`cell_check`; or on their own when the valid rows are asked for first); other
    cells are parsed here first. A fact's numpy column is made only
    when something asks for it (a report, the 万元 check). A table (a batch read in parts, as a
    CSV is parsed) is read part by part where its chunks lie: nothing joins them."""
    n = batch.num_rows
    bounds = _parts(batch)
    invalid = np.zeros(n, dtype=bool)
    sources: dict[str, Source] = {}
    later: dict[str, Callable[[], Column]] = {}
    facts: dict[str, Column] = {}
    raw: dict[str, pa.Array] = {}
    towns = [t.name for t in model.targets.towns] if model.targets else []
    text_columns: dict[str, pa.Array] = {}
    for column, fact_id in mapping.items():
        fact = model.facts[fact_id]
        arrow = batch.column(column)
        raw[fact_id] = arrow
        found = _read(fact, arrow, towns, n, bounds)
        if found.source is not None:
            sources[fact_id] = found.source
        if found.column is not None:
            facts[fact_id] = found.column
        else:
            later[fact_id] = found.later  # type: ignore[assignment]
        if found.text is not None:
            text_columns[fact_id] = found.text
        if found.bad is not None:
            invalid |= found.bad
    errors: dict[int, RowError] = {}
    said = _shape_errors(batch, first_row)
    for row in said:
        invalid[row - first_row] = True

    def settled(refused: NDArray[np.bool_]) -> None:
        for i in np.flatnonzero(refused).tolist():
            row = first_row + i
            errors[row] = said.get(row) or _row_error(model, raw, i, row)

    check = cell_check(model, sources, n, bounds, invalid, settled)
    columns = Columns(n, facts, None, sources=sources, later=later, bounds=bounds, check=check)
    if check is None:  # no number cell to check: the refused rows are known now
        columns.valid = ~invalid
        settled(invalid)
    name_fact, town_fact = model.fact_of_type(FactType.TEXT), model.fact_of_type(FactType.TOWN)
    name, town = text_columns.get(name_fact or ""), text_columns.get(town_fact or "")
    absent = pa.nulls(n, pa.string()) if name is None or town is None else None
    return Batch(
        first_row,
        columns,
        errors,
        absent if name is None else name,
        absent if town is None else town,
        raw,
    )


def _shape_errors(batch: pa.RecordBatch | pa.Table, first_row: int) -> dict[int, RowError]:
    """The rows a reader refused for their shape, not a cell (:data:`CELLS_COLUMN`): a row it
    could not split into the header's cells, and an empty row of a file (no cell has a value)."""
    if CELLS_COLUMN not in batch.schema.names:
        return {}
    field = batch.schema.field(CELLS_COLUMN)
    expected = int((field.metadata or {}).get(b"expected", b"0"))
    found: dict[int, RowError] = {}
    for i, cells in enumerate(batch.column(CELLS_COLUMN).to_pylist()):
        if cells is None:
            continue
        said = (
            Msg("roster.empty_row")
            if cells == 0
            else Msg("roster.row_cells.one", expected=expected)
            if cells == 1
            else Msg("roster.row_cells", cells=cells, expected=expected)
        )
        found[first_row + i] = RowError(first_row + i, (), (ProfileIssue("", said),))
    return found


def _parts(batch: pa.RecordBatch | pa.Table) -> tuple[int, ...] | None:
    """Where the parts of a table begin (then its row count), when it has several and every
    column is cut alike (a table of batches is); None for a record batch."""
    if isinstance(batch, pa.RecordBatch) or batch.num_columns == 0:
        return None
    lengths = [len(c) for c in batch.column(0).chunks]
    if len(lengths) <= 1 or any(
        [len(c) for c in column.chunks] != lengths for column in batch.columns[1:]
    ):
        return None
    return (0, *np.cumsum(lengths).tolist())


def cell_check(
    model: PolicyModel,
    sources: Mapping[str, Source],
    n: int,
    bounds: tuple[int, ...] | None,
    invalid: NDArray[np.bool_],
    settled: Callable[[NDArray[np.bool_]], None],
) -> CellCheck | None:
    """The checks of the number cells, the per-profile validator's, to be made over whole
    columns: a given number out of its fact's bounds, not a finite number, not whole where it
    must be (a count, a year), or above the fact that bounds it (tech_staff ≤ employees). None
    when the batch has no number to check."""
    numbers = [name for name, source in sources.items() if source.numeric]
    if not numbers:
        return None
    specs = []
    for name in numbers:
        fact = model.facts[name]
        lo = -math.inf if fact.minimum is None else float(fact.minimum)
        top = model.ceilings[name]  # tech_staff: at most employees' highest value
        hi = math.inf if top is None else float(top)
        if fact.type is FactType.YEAR:
            lo, hi = max(lo, YEAR_RANGE[0]), min(hi, YEAR_RANGE[1])
        whole = fact.type in (FactType.COUNT, FactType.YEAR) and sources[name].kind & VALUES == F64
        specs.append((lo, hi, int(whole)))
    place = {name: i for i, name in enumerate(numbers)}
    pairs = [
        (place[f.id], place[f.maximum])
        for f in model.facts.values()
        if isinstance(f.maximum, str) and f.id in place and f.maximum in place
    ]
    arguments = [
        sources[s].argument() if bounds is None else sources[s].arguments(bounds) for s in numbers
    ]
    return CellCheck(arguments, specs, pairs, invalid, settled)


@dataclass
class _Read:
    """One column as read: how the engine reads it (a source), its numpy column now or how to
    make it later, the rows whose cell is refused here, and the text column of a name or town."""

    source: Source | None
    column: Column | None
    later: Callable[[], Column] | None
    bad: NDArray[np.bool_] | None
    text: pa.Array | None = None


def _read(
    fact: FactDef,
    arrow: pa.Array | pa.ChunkedArray,
    towns: list[str],
    n: int,
    bounds: tuple[int, ...] | None,
) -> _Read:
    if isinstance(arrow, pa.ChunkedArray):
        kind = BITS if fact.type is FactType.BOOL else _IN_PLACE.get(arrow.type)
        if bounds is not None and kind is not None and _reads_in_place(fact, arrow.type):
            return _pieces(arrow, kind)
        arrow = arrow.combine_chunks()  # another kind of column: joined, then read as one
    if fact.type is FactType.BOOL and pa.types.is_boolean(arrow.type):
        return _Read(_in_place(arrow, BITS), None, lambda: Column(*_arrow_booleans(arrow)), None)
    if fact.type in _TEXTS and pa.types.is_dictionary(arrow.type):
        values, known, bad, clean = _dictionary_text(fact, arrow, towns)
        return _Read(None, None, lambda: Column(values, known & ~bad), bad, clean)
    if fact.type in NUMERIC and _is_number(arrow.type):
        kind = _IN_PLACE.get(arrow.type)
        if kind is not None:
            return _Read(_in_place(arrow, kind), None, lambda: _number_column(floats(arrow)), None)
        number = floats(arrow)  # another width of number: as doubles
        return _Read(_given(number, present(arrow)), _number_column(number), None, None)
    import pyarrow.compute as pc  # only for text cells (80 ms to import: a typed file never does)

    text = _text(arrow)
    given = present(text)
    if fact.type is FactType.BOOL:
        true, known, bad = _booleans(text, given)
        return _Read(None, Column(true, known), None, bad)
    if fact.type in _TEXTS:
        if fact.type is FactType.TOWN:
            found = pc.is_in(text, value_set=texts(towns))
            bad = given & ~_mask(found)
        else:
            length = floats(pc.utf8_length(text))
            hidden = _mask(pc.match_substring_regex(text, _CONTROLS))  # as a profile's name
            bad = given & ((np.nan_to_num(length) > MAX_TEXT) | hidden)
        clean = pc.if_else(booleans(bad), _NO_TEXT, text)

        def words() -> Column:
            found = pc.fill_null(text, _EMPTY).to_pylist()
            return Column(np.array(found, dtype=object), given & ~bad)

        return _Read(None, None, words, bad, clean)
    readable = pc.if_else(pc.match_substring_regex(text, _NUMBER), text, _NO_TEXT)
    number = floats(pc.cast(readable, pa.float64()))
    # 1e-400 is cast to 0 but is not 0, and 199999.99999999999999 is cast to 200000: both
    # refused, as a profile refuses them (written_float, asked of the few cells of 16 digits)
    tiny = (number == 0) & _mask(pc.match_substring_regex(readable, _NOT_ZERO))
    long = _mask(pc.match_substring_regex(readable, _LONG))
    if long.any():
        cells = readable.to_pylist()
        for i in np.flatnonzero(long).tolist():
            tiny[i] |= isinstance(written_float(cells[i]), OutOfRange)
    return _Read(_given(number, given), _number_column(number), None, tiny if tiny.any() else None)


#: :data:`~policy_kb.policy.profile.CONTROLS` in RE2's spelling, for Arrow's regex kernels
_CONTROLS = "[" + "".join(f"\\x{{{ord(c):x}}}" if c != "-" else "-" for c in CONTROLS) + "]"

#: Arrow number types the engine reads in place
_IN_PLACE = {pa.int64(): I64, pa.int32(): I32, pa.float64(): F64}


def _reads_in_place(fact: FactDef, kind: pa.DataType) -> bool:
    """Whether the engine reads a column of this type for this fact where it lies."""
    if fact.type is FactType.BOOL:
        return bool(pa.types.is_boolean(kind))
    return fact.type in NUMERIC and kind in _IN_PLACE


def _pieces(arrow: pa.ChunkedArray, kind: int) -> _Read:
    """A column in parts, read part by part where the parts lie; its numpy column (made only
    when asked for) joins them."""
    parts = [_in_place(chunk, kind) for chunk in arrow.chunks]
    source = Source(
        kind,
        None,
        None,
        0,
        all(p.every for p in parts),
        tuple(p.argument() for p in parts),
    )

    def column() -> Column:
        whole = arrow.combine_chunks()
        if kind == BITS:
            return Column(*_arrow_booleans(whole))
        return _number_column(floats(whole))

    return _Read(source, None, column, None)


def _in_place(arrow: pa.Array, kind: int) -> Source:
    """An Arrow array as the engine reads it: its values buffer and validity bitmap."""
    buffers = arrow.buffers()
    gaps = arrow.null_count > 0 and buffers[0] is not None
    return Source(
        kind | (GAPS_BITS if gaps else 0),
        buffers[1],
        buffers[0] if gaps else None,
        arrow.offset,
        not gaps,
    )


def _given(number: NDArray[np.float64], given: NDArray[np.bool_]) -> Source:
    """Doubles (NaN where absent or unreadable) and where a cell held something: a cell given
    but not a finite number is refused by :func:`cell_check`."""
    return Source(F64 | GAPS_BYTES, number, given.view(np.uint8), 0, bool(given.all()))


def _number_column(number: NDArray[np.float64]) -> Column:
    known = np.isfinite(number)
    return Column(number if known.all() else np.where(known, number, 0.0), known)


def _text(arrow: pa.Array) -> pa.Array:
    """Any column as text, trimmed, an empty cell null."""
    import pyarrow.compute as pc

    if not (pa.types.is_string(arrow.type) or pa.types.is_large_string(arrow.type)):
        try:
            arrow = pc.cast(arrow, pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            arrow = texts([_as_text(v) for v in arrow.to_pylist()])
    trimmed = pc.utf8_trim_whitespace(arrow.cast(pa.string()))
    return pc.if_else(pc.equal(trimmed, _EMPTY), _NO_TEXT, trimmed)


def _as_text(value: Any) -> str | None:
    """A cell of a column pyarrow cannot cast to text, as text: bytes that are not UTF-8 keep
    U+FFFD where they fail, which a name refuses as not text (they were written as Python's
    b'A' before, the valid names too; found by a hostile-input review)."""
    if value is None:
        return None
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


def _mask(found: pa.Array) -> np.ndarray:
    """A boolean Arrow array as a numpy mask, null as False."""
    import pyarrow.compute as pc

    return _arrow_booleans(pc.fill_null(found, _FALSE))[0]


def _text_problem(fact: FactDef, text: str, towns: Sequence[str]) -> bool:
    if fact.type is FactType.TOWN:
        return text not in towns
    return len(text) > MAX_TEXT or not is_text(text)  # a profile's rule for a name


def _dictionary_text(
    fact: FactDef, arrow: pa.DictionaryArray, towns: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, pa.Array]:
    """A dictionary-encoded text column (a town has a dozen values, read once each)."""
    entries: list[str | None] = []
    for item in arrow.dictionary.to_pylist():
        text = str(item).strip() if item is not None else ""
        entries.append(text or None)
    given_of = np.array([e is not None for e in entries] + [False])
    bad_of = np.array([e is not None and _text_problem(fact, e, towns) for e in entries] + [False])
    absent = len(entries)  # one slot past the dictionary stands for an empty cell
    indices = floats(arrow.indices)
    if arrow.null_count:
        indices = np.where(present(arrow), np.nan_to_num(indices, nan=absent), absent)
    indices = indices.astype(np.intp, copy=False)
    clean = [None if b else e for e, b in zip(entries, bad_of, strict=False)]
    values = np.array([e or "" for e in entries] + [""], dtype=object)[indices]
    column = texts([*clean, None]).take(numbers(indices.astype(np.int64)))
    return values, given_of[indices], bad_of[indices], column


def _is_number(kind: pa.DataType) -> bool:
    return bool(pa.types.is_integer(kind) or pa.types.is_floating(kind))


def _arrow_booleans(arrow: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    given = present(arrow)
    return bits(arrow.buffers()[1], arrow.offset, len(arrow)) & given, given


def _booleans(text: pa.Array, given: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import pyarrow.compute as pc

    lower = pc.utf8_lower(text)
    true = _mask(pc.is_in(lower, value_set=texts(sorted(YES_WORDS))))
    false = _mask(pc.is_in(lower, value_set=texts(sorted(NO_WORDS))))
    return true, true | false, given & ~(true | false)


def cell_value(fact_type: FactType, value: Any) -> Any:
    """A raw cell as the per-profile validator should see it (numbers and yes/no parsed where they can be).

    A cell that reads as NaN (``nan`` in a CSV, a NaN in Parquet) is shown as the text it was:
    in a roster it is a value given, not an empty cell, and is refused as not a number."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if (
        isinstance(value, float)
        and value.is_integer()
        and abs(value) < 2**53
        and fact_type in NUMERIC
    ):
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if fact_type is FactType.BOOL:
            found = yes_no(text)
            return text if found is None else found
        if fact_type in NUMERIC:
            if not text.isascii():  # full-width digits (１２３) are refused, as in a profile
                return text
            if len(text) > 40:  # far past any plausible figure: shown as typed, never parsed
                return text
            if "_" in text:  # 1_000: Python's int() reads it, no file format does
                return text
            try:
                return int(text)
            except ValueError:
                pass
            try:
                number = written_float(text)
            except ValueError:
                return text
            if isinstance(number, OutOfRange):  # 1e-400: not 0, and no float holds it
                return number
            if not math.isfinite(number):  # "NaN", "inf", 1e400: refused as typed
                return text
            return int(number) if number.is_integer() and abs(number) < 2**53 else number
        return text
    return value


def _row_error(model: PolicyModel, raw: Mapping[str, pa.Array], index: int, row: int) -> RowError:
    profile = {
        fact: cell_value(model.facts[fact].type, array[index].as_py())
        for fact, array in raw.items()
    }
    try:
        validate_profile(model, profile)
    except ProfileError as exc:
        return RowError(row, exc.facts, exc.issues)
    return RowError(row, (), (ProfileIssue("", Msg("roster.unreadable_row")),))
