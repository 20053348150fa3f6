"""Cells of a roster batch → columns for the engine: every cell checked, every bad row explained.

Each Arrow column is converted on its own: numbers and booleans straight from Arrow's buffers,
text with pyarrow's compute functions (imported on the first text cell) (a cell that does not read as a number becomes a null,
which marks the row as invalid). An empty cell is unknown. An invalid row gets the message the per-profile
validator gives for that row, with its spreadsheet row number; the other rows go on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from ..backends.columns import Column, Columns
from ..errors import ProfileError, ProfileIssue
from ..policy.model import NUMERIC, FactDef, FactType, PolicyModel
from ..policy.profile import MAX_TEXT, NO_WORDS, YEAR_RANGE, YES_WORDS, validate_profile, yes_no
from ..text import Msg, Words
from .buffers import bits, booleans, floats, numbers, present, texts

_TEXTS = (FactType.TEXT, FactType.TOWN)
# scalars taken from arrays: pa.scalar() of a Python value imports pandas when it is installed
_NO_TEXT = pa.nulls(1, pa.string())[0]
_EMPTY = texts([""])[0]
_FALSE = booleans(np.zeros(1, dtype=bool))[0]
#: what a cell must look like to be read as a number (as the per-profile validator reads one)
_NUMBER = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"


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

    def __str__(self) -> str:
        return self.render()


# ── converting and validating a batch ────────────────────────────────────────────────────────


@dataclass
class Batch:
    """One batch of rows, converted: columns for the engine, row numbers, errors, texts."""

    first_row: int
    columns: Columns
    errors: dict[int, RowError]
    name_column: pa.Array  # text, null where unknown or invalid
    town_column: pa.Array

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
    model: PolicyModel, batch: pa.RecordBatch, mapping: Mapping[str, str], first_row: int
) -> Batch:
    """Columns for the engine from one batch; invalid cells mark their row."""
    n = batch.num_rows
    invalid = np.zeros(n, dtype=bool)
    facts: dict[str, Column] = {}
    raw: dict[str, pa.Array] = {}
    towns = [t.name for t in model.targets.towns] if model.targets else []
    text_columns: dict[str, pa.Array] = {}
    for column, fact_id in mapping.items():
        fact = model.facts[fact_id]
        arrow = batch.column(column)
        raw[fact_id] = arrow
        values, known, bad, series = _convert(fact, arrow, column, towns, n)
        if series is not None:
            text_columns[fact_id] = series
        invalid |= bad
        facts[fact_id] = Column(values, known & ~bad, pa.types.is_integer(arrow.type))
    for fact in model.facts.values():
        if isinstance(fact.maximum, str) and fact.id in facts and fact.maximum in facts:
            a, b = facts[fact.id], facts[fact.maximum]
            invalid |= a.known & b.known & (a.values > b.values)
    errors = {
        int(first_row + i): _row_error(model, raw, int(i), int(first_row + i))
        for i in np.flatnonzero(invalid)
    }
    absent = pa.nulls(n, pa.string())
    name_fact, town_fact = model.fact_of_type(FactType.TEXT), model.fact_of_type(FactType.TOWN)
    return Batch(
        first_row,
        Columns(n, facts, ~invalid),
        errors,
        text_columns.get(name_fact or "", absent),
        text_columns.get(town_fact or "", absent),
    )


def _convert(
    fact: FactDef, arrow: pa.Array, column: str, towns: list[str], n: int
) -> tuple[Any, Any, Any, pa.Array | None]:
    """(values, known, bad, text column) of one column."""
    if fact.type is FactType.BOOL and pa.types.is_boolean(arrow.type):
        values, known = _arrow_booleans(arrow)
        return values, known, np.zeros(n, dtype=bool), None
    if fact.type in _TEXTS and pa.types.is_dictionary(arrow.type):
        return _dictionary_text(fact, arrow, towns)
    if fact.type in NUMERIC and _is_number(arrow.type):
        number = floats(arrow)
        # an integer column is NaN exactly where it is null; a float one may hold a NaN
        given = present(arrow) if pa.types.is_floating(arrow.type) else None
        whole = pa.types.is_integer(arrow.type)
        return (*_check_numbers(fact, number, given, whole), None)
    import pyarrow.compute as pc  # only for text cells (80 ms to import: a typed file never does)

    text = _text(arrow)
    given = present(text)
    if fact.type is FactType.BOOL:
        return (*_booleans(text, given), None)
    if fact.type in _TEXTS:
        if fact.type is FactType.TOWN:
            found = pc.is_in(text, value_set=texts(towns))
            bad = given & ~_mask(found)
        else:
            length = floats(pc.utf8_length(text))
            bad = given & (np.nan_to_num(length) > MAX_TEXT)
        values = np.array(pc.fill_null(text, _EMPTY).to_pylist(), dtype=object)
        clean = pc.if_else(booleans(bad), _NO_TEXT, text)
        return values, given, bad, clean
    readable = pc.if_else(pc.match_substring_regex(text, _NUMBER), text, _NO_TEXT)
    number = floats(pc.cast(readable, pa.float64()))
    return (*_check_numbers(fact, number, given), None)


def _text(arrow: pa.Array) -> pa.Array:
    """Any column as text, trimmed, an empty cell null."""
    import pyarrow.compute as pc

    if not (pa.types.is_string(arrow.type) or pa.types.is_large_string(arrow.type)):
        try:
            arrow = pc.cast(arrow, pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            arrow = texts([None if v is None else str(v) for v in arrow.to_pylist()])
    trimmed = pc.utf8_trim_whitespace(arrow.cast(pa.string()))
    return pc.if_else(pc.equal(trimmed, _EMPTY), _NO_TEXT, trimmed)


def _mask(found: pa.Array) -> np.ndarray:
    """A boolean Arrow array as a numpy mask, null as False."""
    import pyarrow.compute as pc

    return _arrow_booleans(pc.fill_null(found, _FALSE))[0]


def _text_problem(fact: FactDef, text: str, towns: Sequence[str]) -> bool:
    return text not in towns if fact.type is FactType.TOWN else len(text) > MAX_TEXT


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


def _check_numbers(
    fact: FactDef, number: np.ndarray, given: np.ndarray | None, whole: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(values, known, bad) of a numeric column; ``number`` is NaN where absent or unreadable.

    ``given`` marks the cells that held something; None when every NaN is an empty cell.
    ``whole`` says the column holds whole numbers only (it came as integers): not checked again.
    """
    n = len(number)
    if given is None and whole and n and _within(fact, number):
        # integers, none missing (a NaN would make both reductions NaN) and every value within
        # the fact's bounds: nothing to mask (two reductions instead of a mask per check)
        return number, np.ones(n, dtype=bool), np.zeros(n, dtype=bool)
    known = np.isfinite(number)
    every = bool(known.all())
    values = number if every else np.where(known, number, 0.0)
    bad = given & ~known if given is not None else np.zeros(len(number), dtype=bool)
    wrong: list[np.ndarray] = []
    if fact.minimum is not None:
        wrong.append(values < fact.minimum)
    if isinstance(fact.maximum, (int, float)):
        wrong.append(values > fact.maximum)
    if fact.type in (FactType.COUNT, FactType.YEAR) and not whole:
        wrong.append(values != np.floor(values))
    if fact.type is FactType.YEAR:
        wrong.append((values < YEAR_RANGE[0]) | (values > YEAR_RANGE[1]))
    for mask in wrong:  # an unknown cell holds 0 here: only a known one can be wrong
        bad |= mask if every else mask & known
    return values, known, bad


def _within(fact: FactDef, number: np.ndarray) -> bool:
    """Whether every value of a column of integers is known and within the fact's own bounds
    (False when one is NaN, that is missing)."""
    low, high = float(number.min()), float(number.max())
    if not (math.isfinite(low) and math.isfinite(high)):
        return False
    if fact.minimum is not None and low < fact.minimum:
        return False
    if isinstance(fact.maximum, (int, float)) and high > fact.maximum:
        return False
    return fact.type is not FactType.YEAR or (YEAR_RANGE[0] <= low and high <= YEAR_RANGE[1])


def _booleans(text: pa.Array, given: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import pyarrow.compute as pc

    lower = pc.utf8_lower(text)
    true = _mask(pc.is_in(lower, value_set=texts(sorted(YES_WORDS))))
    false = _mask(pc.is_in(lower, value_set=texts(sorted(NO_WORDS))))
    return true, true | false, given & ~(true | false)


def cell_value(fact_type: FactType, value: Any) -> Any:
    """A raw cell as the per-profile validator should see it (numbers and yes/no parsed where they can be)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
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
            try:
                return int(text)
            except ValueError:
                pass
            try:
                number = float(text)
            except ValueError:
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
