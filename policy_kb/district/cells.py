"""Cells of a roster batch → columns for the engine: every cell checked, every bad row explained.

Each Arrow column is converted on its own: numbers and booleans straight from Arrow's buffers,
text with polars (a non-strict cast turns a cell that is not a number into a null, which marks
the row as invalid). An empty cell is unknown. An invalid row gets the message the per-profile
validator gives for that row, with its spreadsheet row number; the other rows go on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from ..backends.columns import Column, Columns
from ..errors import ProfileError, ProfileIssue
from ..policy.model import NUMERIC, FactDef, FactType, PolicyModel
from ..policy.profile import MAX_TEXT, NO_WORDS, YEAR_RANGE, YES_WORDS, validate_profile, yes_no
from ..text import Msg, Words
from .buffers import bits, floats, present

_TEXTS = (FactType.TEXT, FactType.TOWN)


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
    name_column: pl.Series  # text, null where unknown or invalid
    town_column: pl.Series

    @property
    def names(self) -> np.ndarray:
        """Each row's enterprise name, or None."""
        return self.name_column.to_numpy()

    @property
    def towns(self) -> np.ndarray:
        """Each row's town, or None when unknown or invalid."""
        return self.town_column.to_numpy()


def convert_batch(
    model: PolicyModel, batch: pa.RecordBatch, mapping: Mapping[str, str], first_row: int
) -> Batch:
    """Columns for the engine from one batch; invalid cells mark their row."""
    n = batch.num_rows
    invalid = np.zeros(n, dtype=bool)
    facts: dict[str, Column] = {}
    raw: dict[str, pa.Array] = {}
    towns = [t.name for t in model.targets.towns] if model.targets else []
    texts: dict[str, pl.Series] = {}
    for column, fact_id in mapping.items():
        fact = model.facts[fact_id]
        arrow = batch.column(column)
        raw[fact_id] = arrow
        values, known, bad, series = _convert(fact, arrow, column, towns, n)
        if series is not None:
            texts[fact_id] = series
        invalid |= bad
        facts[fact_id] = Column(values, known & ~bad)
    for fact in model.facts.values():
        if isinstance(fact.maximum, str) and fact.id in facts and fact.maximum in facts:
            a, b = facts[fact.id], facts[fact.maximum]
            invalid |= a.known & b.known & (a.values > b.values)
    errors = {
        int(first_row + i): _row_error(model, raw, int(i), int(first_row + i))
        for i in np.flatnonzero(invalid)
    }
    absent = pl.Series([None] * n, dtype=pl.String)
    name_fact, town_fact = model.fact_of_type(FactType.TEXT), model.fact_of_type(FactType.TOWN)
    return Batch(
        first_row,
        Columns(n, facts, ~invalid),
        errors,
        texts.get(name_fact or "", absent),
        texts.get(town_fact or "", absent),
    )


def _convert(
    fact: FactDef, arrow: pa.Array, column: str, towns: list[str], n: int
) -> tuple[Any, Any, Any, pl.Series | None]:
    """(values, known, bad, text series) of one column."""
    if fact.type is FactType.BOOL and pa.types.is_boolean(arrow.type):
        values, known = _arrow_booleans(arrow)
        return values, known, np.zeros(n, dtype=bool), None
    if fact.type in _TEXTS and pa.types.is_dictionary(arrow.type):
        return _dictionary_text(fact, arrow, towns)
    if fact.type in NUMERIC and _is_number(arrow.type):
        number = floats(arrow)
        # an integer column is NaN exactly where it is null; a float one may hold a NaN
        given = present(arrow) if pa.types.is_floating(arrow.type) else None
        return (*_check_numbers(fact, number, given), None)
    series = pl.Series(column, arrow)
    if series.dtype == pl.String:
        series = series.str.strip_chars()
        series = pl.select(pl.when(series == "").then(None).otherwise(series)).to_series()
    given = series.is_not_null().to_numpy()
    if fact.type is FactType.BOOL:
        return (*_booleans(series), None)
    if fact.type in _TEXTS:
        text = series.cast(pl.String, strict=False)
        if fact.type is FactType.TOWN:
            bad = given & ~text.is_in(towns).fill_null(False).to_numpy()
        else:
            bad = given & (text.str.len_chars().fill_null(0).to_numpy() > MAX_TEXT)
        return text.fill_null("").to_numpy(), given, bad, text.set(pl.Series(bad), None)
    number = series.cast(pl.Float64, strict=False).to_numpy()
    return (*_check_numbers(fact, number, given), None)


def _text_problem(fact: FactDef, text: str, towns: Sequence[str]) -> bool:
    return text not in towns if fact.type is FactType.TOWN else len(text) > MAX_TEXT


def _dictionary_text(
    fact: FactDef, arrow: pa.DictionaryArray, towns: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, pl.Series]:
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
    series = pl.Series(fact.id, [*clean, None], dtype=pl.String).gather(indices)
    return values, given_of[indices], bad_of[indices], series


def _is_number(kind: pa.DataType) -> bool:
    return bool(pa.types.is_integer(kind) or pa.types.is_floating(kind))


def _arrow_booleans(arrow: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    given = present(arrow)
    return bits(arrow.buffers()[1], arrow.offset, len(arrow)) & given, given


def _check_numbers(
    fact: FactDef, number: np.ndarray, given: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(values, known, bad) of a numeric column; ``number`` is NaN where absent or unreadable.

    ``given`` marks the cells that held something; None when every NaN is an empty cell.
    """
    known = np.isfinite(number)
    values = np.where(known, number, 0.0)
    bad = given & ~known if given is not None else np.zeros(len(number), dtype=bool)
    if fact.minimum is not None:
        bad |= known & (values < fact.minimum)
    if isinstance(fact.maximum, (int, float)):
        bad |= known & (values > fact.maximum)
    if fact.type in (FactType.COUNT, FactType.YEAR):
        bad |= known & (values != np.floor(values))
    if fact.type is FactType.YEAR:
        bad |= known & ((values < YEAR_RANGE[0]) | (values > YEAR_RANGE[1]))
    return values, known, bad


def _booleans(series: pl.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(series)
    if series.dtype == pl.Boolean:
        known = series.is_not_null().to_numpy()
        return series.fill_null(False).to_numpy().astype(bool), known, np.zeros(n, dtype=bool)
    text = series.cast(pl.String, strict=False).str.to_lowercase()
    true = text.is_in(list(YES_WORDS)).fill_null(False).to_numpy()
    false = text.is_in(list(NO_WORDS)).fill_null(False).to_numpy()
    given = text.is_not_null().to_numpy()
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
