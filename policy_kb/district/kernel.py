"""The kernel: one Arrow batch of enterprises in, one Arrow batch of answers out.

Every command that reads a roster — ``roster``, ``progress``, ``mobilise``, ``impact``, and the
Spark engine on each partition — runs these three steps and nothing else evaluates a column:

1. :func:`~policy_kb.district.cells.convert_batch` checks every cell (the messages of the
   per-profile validator, per row) and gives the engine its columns (values + known masks);
2. :func:`evaluate_batch` runs the column back-end with each row's year's parameter values;
3. :func:`answers` lays the result out as Arrow: each status a dictionary column (one byte per
   row, three words in the dictionary), the pre-check's verdict, route and score bounds, every
   estimate exact to the fen (null where there is no amount), and the row's error, if any.

:func:`evaluate_arrow` is the three at once — a pure function of the policy, the years and the
batch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from ..backends.columns import (
    APPLIES,
    STATUS_WORDS,
    ColumnResult,
    Columns,
    condition_masks,
    evaluate_columns,
    exclusive_counted,
    merge_results,
)
from ..backends.program import Programs
from ..backends.trace import Plan
from ..errors import PolicyKBError, ProfileError, ProfileIssue, YearError
from ..policy.model import YEAR_RANGE, FactType, ParameterValue, PolicyModel
from ..policy.profile import validate_profile
from ..reason.evaluate import evaluate_profile
from ..reason.evidence import deciding_columns
from ..text import Msg
from .buffers import booleans, numbers, texts
from .buffers import codes as dictionary
from .cells import Batch, RowError, convert_batch

#: how a status is written: a dictionary column of these words (null on a refused row)
STATUS_TYPE = pa.dictionary(pa.int8(), pa.string())
_STATUS_WORDS = texts(STATUS_WORDS)
_ROUTE_WORDS = texts(["direct", "score"])


@dataclass(frozen=True)
class Years:
    """In which year each row is evaluated, and the parameter values of a year.

    As for one profile: the year asked for (``fixed``) when there is one, else the row's own
    year fact, else the policy year (``default``).
    """

    parameters_of: Callable[[int], Mapping[str, ParameterValue]]
    default: int
    fixed: int | None = None
    #: what a run compiles once and keeps: the engine's programs and the per-profile plan
    kept: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    def programs(self, model: PolicyModel) -> Programs:
        """The column engine's programs for ``model``, compiled once per run."""
        found = self._kept(Programs, model)
        assert isinstance(found, Programs)
        return found

    def plan(self, model: PolicyModel) -> Plan:
        """The per-profile plan for ``model`` (for the rows the column engine leaves undecided)."""
        found = self._kept(Plan, model)
        assert isinstance(found, Plan)
        return found

    def _kept(self, make: Callable[[PolicyModel], Any], model: PolicyModel) -> Any:
        found = self.kept.get((make, id(model)))
        if found is None or found.model is not model:
            found = self.kept[make, id(model)] = make(model)
        return found

    def overridden(self, model: PolicyModel, columns: Columns) -> int:
        """How many valid rows give a year of their own that the year asked for overrides (a
        roster of 2022 data evaluated with ``--year 2021``: the answer must say so)."""
        fact = model.fact_of_type(FactType.YEAR)
        if self.fixed is None or fact is None or fact not in columns.facts:
            return 0
        given = columns.facts[fact]
        values = np.asarray(given.values, dtype=np.float64)
        other = given.known & (values != self.fixed) & columns.rows_valid
        return int(np.count_nonzero(other))

    def of_rows(self, model: PolicyModel, columns: Columns) -> NDArray[np.int64]:
        """Each row's evaluation year."""
        fact = model.fact_of_type(FactType.YEAR)
        if self.fixed is not None or fact is None or fact not in columns.facts:
            year = self.default if self.fixed is None else self.fixed
            return np.full(columns.n, year, dtype=np.int64)
        given = columns.facts[fact]
        values = np.asarray(given.values, dtype=np.float64)
        # A year cell out of range or not whole is refused by the cell check; its row is
        # still evaluated (then hidden), with the default year.
        with np.errstate(invalid="ignore"):
            usable = (
                given.known
                & (values >= YEAR_RANGE[0])
                & (values <= YEAR_RANGE[1])
                & (values == np.floor(values))
            )
        return np.where(usable, values, self.default).astype(np.int64)


def evaluate_batch(model: PolicyModel, batch: Batch, years: Years) -> ColumnResult:
    """The column back-end over one batch, each row with the parameter values of its year.

    A row whose year has no value for a condition's parameter is refused like an invalid cell,
    with the reason in its error.
    """
    groups = year_groups(model, batch, years, refuse=True)
    programs = years.programs(model)
    if len(groups) == 1:
        result = evaluate_columns(model, batch.columns, years.parameters_of(groups[0][1]), programs)
    else:
        parts = []
        for rows, year in groups:
            assert rows is not None
            columns = batch.columns.subset(rows)
            parts.append(
                (rows, evaluate_columns(model, columns, years.parameters_of(year), programs))
            )
        result = merge_results(batch.columns.n, parts)
    if result.undecided.any():
        settle(model, batch, years, result, groups)
    return result


_PRECHECK_ROUTE = {"direct": 1, "score": 2, None: 0}
_QUALIFIES = {True: 1, False: 0, None: -1}


def settle(
    model: PolicyModel,
    batch: Batch,
    years: Years,
    result: ColumnResult,
    groups: list[tuple[NDArray[np.intp] | None, int]],
) -> None:
    """The rows the column engine could not decide exactly (numbers that are not whole, within a
    rounding error of a tier or a half fen), answered by the per-profile engine in exact
    decimals — the reference the column engine is tested against."""
    year_of = np.full(result.n, groups[0][1], dtype=np.int64)
    for where, year in groups:
        if where is not None:
            year_of[where] = year
    plan = years.plan(model)
    statuses, prechecks, amounts, done = [], [], [], []
    for i in np.flatnonzero(result.undecided).tolist():
        try:
            profile = validate_profile(model, batch.profile(i, model))
        except ProfileError:  # checked already: a row that passed is a valid profile
            continue
        year = int(year_of[i])
        answer = evaluate_profile(plan, profile, year, years.parameters_of(year))
        statuses.append({b.id: STATUS_WORDS.index(b.status.value) for b in answer.benefits})
        pre = answer.precheck
        prechecks.append(
            None
            if pre is None
            else (
                _QUALIFIES[pre.qualifies],
                _PRECHECK_ROUTE[pre.route],
                pre.score_low,
                pre.score_high,
            )
        )
        amounts.append(
            {
                benefit: math.nan if estimate.amount is None else float(estimate.amount)
                for benefit, estimate in answer.estimates.items()
                if benefit in result.estimates
            }
        )
        done.append(i)
    result.settle(done, statuses, prechecks, amounts)
    if done:  # a settled amount may change which of two exclusive benefits counts
        result.counted = exclusive_counted(model, result.statuses, result.estimates, result.n)


def year_groups(
    model: PolicyModel, batch: Batch, years: Years, *, refuse: bool = False
) -> list[tuple[NDArray[np.intp] | None, int]]:
    """The rows of each evaluation year: ``[(None, year)]`` when every row has the same one.

    A row whose year has no parameter values goes with the policy year (``refuse=True`` also
    marks it invalid, with the reason in its error, as :func:`evaluate_batch` does)."""
    fact = model.fact_of_type(FactType.YEAR)
    if years.fixed is not None or fact is None or fact not in batch.columns.facts:
        year = years.default if years.fixed is None else years.fixed
        try:
            years.parameters_of(year)
        except YearError as exc:
            if refuse:
                _refuse(model, batch, np.arange(batch.columns.n), exc)
            year = years.default  # still evaluated, then hidden as invalid
        return [(None, year)]
    of_rows = years.of_rows(model, batch.columns)
    for year in _distinct(of_rows):
        try:
            years.parameters_of(year)
        except YearError as exc:
            rows = np.flatnonzero(of_rows == year)
            if refuse:
                _refuse(model, batch, rows, exc)
            of_rows[rows] = years.default  # still evaluated, then hidden as invalid
    distinct = _distinct(of_rows)
    if len(distinct) <= 1:
        return [(None, distinct[0] if distinct else years.default)]
    return [(np.flatnonzero(of_rows == year), year) for year in distinct]


def deciding_batch(
    model: PolicyModel, batch: Batch, years: Years
) -> dict[str, dict[str, NDArray[np.bool_]]]:
    """Per benefit, the facts that decided it on each row (see
    :func:`~policy_kb.reason.evidence.deciding_columns`): fact → mask of rows."""
    n = batch.columns.n
    out: dict[str, dict[str, NDArray[np.bool_]]] = {b: {} for b in model.benefits}
    for rows, year in year_groups(model, batch, years):
        columns = batch.columns if rows is None else batch.columns.subset(rows)
        masks = condition_masks(model, columns, years.parameters_of(year), years.programs(model))
        for benefit in model.benefits.values():
            found = deciding_columns(model, benefit.condition, masks, columns.n)
            if rows is None:
                out[benefit.id] = found
                continue
            into = out[benefit.id]
            for fact, where in found.items():
                if fact not in into:
                    into[fact] = np.zeros(n, dtype=bool)
                into[fact][rows] = where
    return out


def _distinct(of_rows: NDArray[np.int64]) -> list[int]:
    """The years of the rows, each once (most batches have one: no sort needed)."""
    if of_rows.size and bool((of_rows == of_rows[0]).all()):
        return [int(of_rows[0])]
    return [int(y) for y in np.unique(of_rows).tolist()]


def _refuse(model: PolicyModel, batch: Batch, rows: NDArray[np.intp], exc: YearError) -> None:
    fact = model.fact_of_type(FactType.YEAR) or "year"
    valid = batch.columns.rows_valid.copy()
    for i in rows.tolist():
        row = batch.first_row + i
        if valid[i]:
            batch.errors[row] = RowError(row, (fact,), (ProfileIssue(fact, exc.message),))
    valid[rows] = False
    batch.columns.valid = valid


# ── the answers, as Arrow ────────────────────────────────────────────────────────────────────


def _text(column: pa.Array) -> pa.Array:
    """A text column as plain strings (a cast only when it is not: it imports pyarrow.compute)."""
    return column if column.type == pa.string() else column.cast(pa.string())


def answers(
    model: PolicyModel,
    batch: Batch,
    result: ColumnResult,
    lang: str = "zh",
    *,
    tally: bool = False,
) -> pa.RecordBatch:
    """The answer rows of one batch: row number, name, town, every status, the pre-check, every
    estimate and the row's error (in ``lang``), as an Arrow record batch.

    ``tally=True`` adds what a distributed run needs to total the answers as
    :class:`~policy_kb.district.roster.RosterSummary` does: ``_facts`` (the facts a refused row
    got wrong, comma-separated) and, per estimate, ``_counted:<benefit>`` (the amount counts in
    the totals: valid, applies, not the lesser of two that cannot be combined) and the masks of
    :func:`pool_masks` (``_registered``, ``_pool``, ``_pool_unknown``)."""
    n = result.n
    valid = batch.columns.rows_valid
    refused = ~valid
    nulls = None if not batch.errors and bool(valid.all()) else refused  # null when refused
    columns: dict[str, pa.Array] = {
        "row": numbers(np.arange(batch.first_row, batch.first_row + n, dtype=np.int64)),
        "name": _text(batch.name_column),
        "town": _text(batch.town_column),
    }
    for benefit, codes in result.statuses.items():
        columns[benefit] = dictionary(codes, _STATUS_WORDS, nulls)
    if result.precheck is not None:
        pre = result.precheck
        columns["precheck_qualifies"] = booleans(
            pre.qualifies == 1, refused | (pre.qualifies == -1)
        )
        route = np.maximum(pre.route - 1, 0).astype(np.int8)
        columns["precheck_route"] = dictionary(route, _ROUTE_WORDS, refused | (pre.route == 0))
        exact = valid & (pre.score_low == pre.score_high)
        low, high = pre.score_low.astype(np.int64), pre.score_high.astype(np.int64)
        columns["precheck_score"] = numbers(low, ~exact)
        columns["precheck_score_low"] = numbers(low, nulls)
        columns["precheck_score_high"] = numbers(high, nulls)
    for benefit, amounts in result.estimates.items():
        columns[f"estimate:{benefit}"] = numbers(amounts, np.isnan(amounts))
    columns["error"] = _messages(batch, n, lambda error: error.message_in(lang))
    if tally:
        columns["_facts"] = _messages(batch, n, lambda error: ",".join(error.facts))
        for benefit in result.estimates:
            columns[f"_counted:{benefit}"] = booleans(counted_amounts(result, benefit, valid))
        if model.evaluation is not None and model.evaluation.establishes is not None:
            masks = pool_masks(model, batch, result)
            for key, mask in zip(("_registered", "_pool", "_pool_unknown"), masks, strict=True):
                columns[key] = booleans(mask)
    return pa.RecordBatch.from_arrays(list(columns.values()), names=list(columns))


def _messages(batch: Batch, n: int, say: Callable[[RowError], str]) -> pa.Array:
    """A text column with ``say(error)`` on each refused row, null elsewhere."""
    if not batch.errors:
        return pa.nulls(n, pa.string())
    items: list[str | None] = [None] * n
    for row, error in batch.errors.items():
        items[row - batch.first_row] = say(error)
    return texts(items)


def established(model: PolicyModel) -> str:
    """The fact the evaluation establishes (registered as a tech SME this year)."""
    method = model.evaluation
    if method is None or method.establishes is None:
        raise PolicyKBError(Msg("district.no_establishes"))
    return method.establishes


def pool_masks(
    model: PolicyModel, batch: Batch, result: ColumnResult
) -> tuple[NDArray[np.bool_], NDArray[np.bool_], NDArray[np.bool_]]:
    """(registered, in the 应评尽评 pool, pool with unknown registration) masks of the valid rows."""
    valid = batch.columns.rows_valid
    reg = batch.columns.column(established(model))
    registered = valid & reg.known & (reg.values == True)  # noqa: E712 - a numpy mask
    qualifies = (
        result.precheck.qualifies == 1
        if result.precheck is not None
        else np.zeros(result.n, dtype=bool)
    )
    pool = valid & qualifies & ~registered
    return registered, pool, pool & ~reg.known


def counted_amounts(
    result: ColumnResult, benefit: str, valid: NDArray[np.bool_]
) -> NDArray[np.bool_]:
    """The rows whose amount of ``benefit`` counts in a total: valid, applies, has one, not the lesser."""
    amounts = result.estimates[benefit]
    applies = result.statuses[benefit] == APPLIES
    mask: NDArray[np.bool_] = valid & applies & ~np.isnan(amounts) & result.counted[benefit]
    return mask


def known_total(fen: int, known: int, unknown: int) -> int | None:
    """A sum of amounts in fen, or None when every amount it should hold is unknown (``known``
    amounts summed, ``unknown`` left out): a sum of no amount is not 0."""
    return None if unknown and not known else fen


def unknown_amounts(
    result: ColumnResult, benefit: str, valid: NDArray[np.bool_]
) -> NDArray[np.bool_]:
    """The rows where ``benefit`` applies with an amount that cannot be worked out (a fact it
    reads is unknown): a total leaves them out and says how many."""
    applies = result.statuses[benefit] == APPLIES
    mask: NDArray[np.bool_] = valid & applies & np.isnan(result.estimates[benefit])
    return mask


def evaluate_arrow(
    model: PolicyModel,
    years: Years,
    batch: pa.RecordBatch,
    *,
    mapping: Mapping[str, str] | None = None,
    first_row: int = 2,
    lang: str = "zh",
) -> pa.RecordBatch:
    """Answers for a batch of enterprises: :func:`answers` of the evaluated, validated batch.

    ``mapping`` is column name → fact id (by default, the columns named by a fact id);
    ``first_row`` is the spreadsheet row number of the batch's first row (the header is row 1).
    """
    if mapping is None:
        mapping = {name: name for name in batch.schema.names if name in model.facts}
    converted = convert_batch(model, batch, mapping, first_row)
    return answers(model, converted, evaluate_batch(model, converted, years), lang)


__all__ = ["STATUS_TYPE", "Years", "answers", "evaluate_arrow", "evaluate_batch"]
