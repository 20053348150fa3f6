"""The column-wise engine: the same conditions, evaluated over whole columns with numpy.

One source of truth, two executions: this module walks the very ``Condition`` and ``Expr`` objects
the per-profile engine evaluates, but over arrays. A three-valued result is a pair of boolean masks
— ``true`` (the condition certainly holds) and ``false`` (it certainly fails); a row in neither is
unknown. Kleene's logic is then plain mask algebra: ``all`` is true where every part is true and
false where any part is false; ``any`` the other way round.

Numbers are float64: every amount in yuan up to 2**53 (9 × 10**15) is exact, so a bound is never
passed by rounding (200,000,001 > 200,000,000 holds exactly). Ratios against score tiers are
compared by cross-multiplication, as the per-profile engine does. Amounts are rounded to the fen,
half up, like the per-profile engine's Decimal arithmetic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._conditions import (
    AllOf,
    AnyOf,
    Arith,
    CategoryRef,
    Comparison,
    Condition,
    Const,
    Expr,
    FactRef,
    Flag,
    Func,
    Negate,
    NotOf,
    ParamRef,
)
from ._model import Benefit, EvaluationMethod, FactType, ParameterValue, PolicyModel

Bools = NDArray[np.bool_]
Floats = NDArray[np.float64]

#: status codes in the result arrays
APPLIES, DOES_NOT_APPLY, UNDETERMINED = 0, 1, 2
STATUS_WORDS = np.array(["applies", "does_not_apply", "undetermined"], dtype=object)


@dataclass
class Column:
    """One fact over all rows: ``values`` (meaningful where ``known``) and ``known``."""

    values: NDArray[Any]
    known: Bools


@dataclass
class Columns:
    """The facts of a batch of rows, as columns (``valid`` marks the rows that passed validation)."""

    n: int
    facts: dict[str, Column]
    valid: Bools | None = None

    @property
    def rows_valid(self) -> Bools:
        """True for each row that passed validation (every row when none was checked)."""
        return self.valid if self.valid is not None else np.ones(self.n, dtype=bool)

    def column(self, name: str) -> Column:
        found = self.facts.get(name)
        if found is None:  # a fact no row gave: unknown everywhere
            found = Column(np.zeros(self.n), np.zeros(self.n, dtype=bool))
            self.facts[name] = found
        return found


@dataclass
class _Context:
    columns: Columns
    params: Mapping[str, Any]
    categories: Mapping[str, Condition]
    cache: dict[str, tuple[Bools, Bools]] = field(default_factory=dict)


# ── expressions and conditions over columns ──────────────────────────────────────────────────


def _expr(expr: Expr, ctx: _Context) -> tuple[Any, Any]:
    """(values, known): arrays, or a scalar and True for constants and parameters."""
    if isinstance(expr, FactRef):
        col = ctx.columns.column(expr.name)
        return col.values, col.known
    if isinstance(expr, ParamRef):
        value = ctx.params[expr.name]
        return (value / 100 if expr.percent else value), True
    if isinstance(expr, Const):
        return expr.literal, True
    if isinstance(expr, Arith):
        a, ka = _expr(expr.left, ctx)
        b, kb = _expr(expr.right, ctx)
        values = a + b if expr.op == "+" else a - b if expr.op == "-" else a * b
        return values, _and_known(ka, kb)
    if isinstance(expr, Func):
        parts = [_expr(arg, ctx) for arg in expr.args]
        values = parts[0][0]
        known = parts[0][1]
        for v, k in parts[1:]:
            values = np.maximum(values, v) if expr.name == "max" else np.minimum(values, v)
            known = _and_known(known, k)
        return values, known
    if isinstance(expr, Negate):
        v, k = _expr(expr.operand, ctx)
        return -v, k
    raise TypeError(f"cannot evaluate {expr!r} over columns")  # pragma: no cover


def _and_known(a: Any, b: Any) -> Any:
    if a is True:
        return b
    if b is True:
        return a
    return a & b


_OPS = {
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "==": np.equal,
    "!=": np.not_equal,
}


def evaluate(cond: Condition, ctx: _Context) -> tuple[Bools, Bools]:
    """(true, false) masks of a condition over every row."""
    n = ctx.columns.n
    if isinstance(cond, Flag):
        col = ctx.columns.column(cond.fact)
        hit = col.values == cond.expected
        return col.known & hit, col.known & ~hit
    if isinstance(cond, Comparison):
        a, ka = _expr(cond.left, ctx)
        b, kb = _expr(cond.right, ctx)
        known = _and_known(ka, kb)
        if cond.op in ("in", "not in"):
            hit = np.isin(a, list(b))
            if cond.op == "not in":
                hit = ~hit
        else:
            hit = _OPS[cond.op](a, b)
        if known is True:
            known = np.ones(n, dtype=bool)
        hit = np.broadcast_to(hit, (n,))
        return known & hit, known & ~hit
    if isinstance(cond, CategoryRef):
        found = ctx.cache.get(cond.category)
        if found is None:
            found = evaluate(ctx.categories[cond.category], ctx)
            ctx.cache[cond.category] = found
        return found
    if isinstance(cond, AllOf):
        parts = [evaluate(p, ctx) for p in cond.parts]
        true = parts[0][0].copy()
        false = parts[0][1].copy()
        for t, f in parts[1:]:
            true &= t
            false |= f
        return true, false
    if isinstance(cond, AnyOf):
        parts = [evaluate(p, ctx) for p in cond.parts]
        true = parts[0][0].copy()
        false = parts[0][1].copy()
        for t, f in parts[1:]:
            true |= t
            false &= f
        return true, false
    if isinstance(cond, NotOf):
        t, f = evaluate(cond.part, ctx)
        return f, t
    raise TypeError(f"cannot evaluate {cond!r} over columns")  # pragma: no cover


def status_codes(true: Bools, false: Bools) -> NDArray[np.int8]:
    """0 applies, 1 does not apply, 2 undetermined — as 2 − 2·true − false (the masks never overlap)."""
    codes = np.full(true.shape, UNDETERMINED, dtype=np.int8)
    codes -= true.view(np.int8) * np.int8(2)
    codes -= false.view(np.int8)
    return codes


# ── the whole evaluation ─────────────────────────────────────────────────────────────────────


@dataclass
class PrecheckColumns:
    """The pre-check over all rows (``qualifies``: 1 yes, 0 no, -1 unknown)."""

    qualifies: NDArray[np.int8]
    route: NDArray[np.int8]  # 1 direct, 2 score, 0 none
    score_low: NDArray[np.int16]
    score_high: NDArray[np.int16]
    indicators: dict[str, tuple[NDArray[np.int16], NDArray[np.int16]]]


@dataclass
class ColumnResult:
    """Every benefit's status, the pre-check and the estimates, for a batch of rows."""

    n: int
    statuses: dict[str, NDArray[np.int8]]
    precheck: PrecheckColumns | None
    estimates: dict[str, Floats]  # NaN where there is no amount
    counted: dict[str, Bools]  # the amount counts in the totals (not the lesser of two)
    derived: dict[str, Column]


def evaluate_columns(
    model: PolicyModel, columns: Columns, parameters: Mapping[str, ParameterValue]
) -> ColumnResult:
    """Evaluate every benefit, the pre-check and the estimates over the rows of ``columns``."""
    params = {name: pv.value for name, pv in parameters.items() if pv.value is not None}
    categories = {name: c.condition for name, c in model.categories.items()}
    ctx = _Context(columns, params, categories)
    derived = {}
    for name, d in model.derived.items():
        values, known = _expr(d.formula, ctx)
        col = Column(
            np.asarray(values, dtype=np.float64), np.broadcast_to(known, (columns.n,)).copy()
        )
        columns.facts[name] = col
        derived[name] = col
    statuses = {}
    for benefit in model.benefits.values():
        statuses[benefit.id] = status_codes(*evaluate(benefit.condition, ctx))
    precheck = None
    if model.evaluation is not None:
        precheck = _precheck(model.evaluation, ctx, parameters)
    estimates = {}
    for benefit in model.benefits.values():
        if benefit.estimate is not None:
            estimates[benefit.id] = _estimate(benefit, ctx, statuses[benefit.id], parameters)
    counted = _conflicts(model, statuses, estimates)
    if columns.valid is not None:
        invalid = ~columns.valid
        for codes in statuses.values():
            codes[invalid] = UNDETERMINED
        for amounts in estimates.values():
            amounts[invalid] = np.nan
    return ColumnResult(columns.n, statuses, precheck, estimates, counted, derived)


def _estimate(
    benefit: Benefit,
    ctx: _Context,
    status: NDArray[np.int8],
    parameters: Mapping[str, ParameterValue],
) -> Floats:
    spec = benefit.estimate
    assert spec is not None
    n = ctx.columns.n
    amount = np.full(n, np.nan)
    done = np.zeros(n, dtype=bool)
    for case in spec.cases:
        if case.when is None:
            true, false = np.ones(n, dtype=bool), np.zeros(n, dtype=bool)
        else:
            true, false = evaluate(case.when, ctx)
        if any(parameters.get(p) is None or parameters[p].value is None for p in case.parameters):
            done |= true | ~(true | false)
            continue
        values, known = _expr(case.formula, ctx)
        take = ~done & true
        if known is not True:
            take &= known
        np.copyto(amount, values, where=take)
        done |= true | ~(true | false)  # a case taken, or a 'when' still unknown: no later case
    amount[status == DOES_NOT_APPLY] = np.nan
    return _to_fen(amount)


def _to_fen(amount: Floats) -> Floats:
    """Round to 0.01 yuan, half away from zero (as Decimal's ROUND_HALF_UP does)."""
    out = np.abs(amount)
    out *= 100
    # a tie printed as …5 may be stored a hair below it: the epsilon puts it back on the tie
    out += 0.5 + 1e-7
    np.floor(out, out=out)
    np.copysign(out, amount, out=out)
    out /= 100
    return out


def sum_fen(amounts: Floats) -> int:
    """The exact sum, in fen, of amounts already rounded to the fen (no float drift over millions)."""
    return int(np.rint(amounts * 100).astype(np.int64).sum())


def _conflicts(
    model: PolicyModel, statuses: Mapping[str, NDArray[np.int8]], estimates: Mapping[str, Floats]
) -> dict[str, Bools]:
    counted = {b: np.ones(a.shape, dtype=bool) for b, a in estimates.items()}
    for benefit in model.benefits.values():
        for other in benefit.not_combinable_with:
            if benefit.id not in estimates or other not in estimates:
                continue
            a, b = estimates[benefit.id], estimates[other]
            both = (
                (statuses[benefit.id] == APPLIES)
                & (statuses[other] == APPLIES)
                & ~np.isnan(a)
                & ~np.isnan(b)
            )
            counted[other] &= ~(both & (a >= b))
            counted[benefit.id] &= ~(both & (a < b))
    return counted


# ── the pre-check over columns ───────────────────────────────────────────────────────────────


def _tier_points(measured: Floats, table: ParameterValue) -> NDArray[np.int16]:
    """Points per row from a score table (``at_least`` inclusive); NaN reaches no tier.

    A ratio is computed once as num × 100 / den: for whole numbers of yuan and people the division
    is exact at every bound (the nearest double to a tier bound is the bound itself, and a value
    below it differs by at least 1/den, far more than the rounding error).
    """
    steps = sorted(table.tiers, key=lambda t: t.at_least)
    points = np.array([0, *(t.points for t in steps)], dtype=np.int16)
    reached = np.zeros(measured.shape, dtype=np.uint8)  # how many bounds each row reaches
    for step in steps:
        reached += measured >= step.at_least
    return points.take(reached)


def _precheck(
    method: EvaluationMethod, ctx: _Context, parameters: Mapping[str, ParameterValue]
) -> PrecheckColumns:
    n = ctx.columns.n
    basic_true, basic_false = np.ones(n, dtype=bool), np.zeros(n, dtype=bool)
    for named in method.basic:
        t, f = evaluate(named.condition, ctx)
        basic_true &= t
        basic_false |= f
    direct_true, direct_false = np.zeros(n, dtype=bool), np.ones(n, dtype=bool)
    for named in method.direct:
        t, f = evaluate(named.condition, ctx)
        direct_true |= t
        direct_false &= f
    indicators = {}
    low_total = np.zeros(n, dtype=np.int16)
    high_total = np.zeros(n, dtype=np.int16)
    nonzero_ok_true = np.ones(n, dtype=bool)  # every must-not-be-zero indicator certainly > 0
    nonzero_ok_false = np.zeros(n, dtype=bool)  # some must-not-be-zero indicator certainly 0
    for indicator in method.indicators:
        low, high = _indicator(indicator, ctx, parameters)
        indicators[indicator.id] = (low, high)
        low_total += low
        high_total += high
        if indicator.id in method.nonzero:
            nonzero_ok_true &= low > 0
            nonzero_ok_false |= high == 0
    pass_value = parameters[method.pass_score].value
    assert pass_value is not None
    score_true = (low_total >= pass_value) & nonzero_ok_true
    score_false = (high_total < pass_value) | nonzero_ok_false
    either_true = direct_true | score_true
    either_false = direct_false & score_false
    qualifies_true = basic_true & either_true
    qualifies_false = basic_false | either_false
    qualifies = np.full(n, -1, dtype=np.int8)
    qualifies[qualifies_true] = 1
    qualifies[qualifies_false] = 0
    route = np.zeros(n, dtype=np.int8)
    route[qualifies_true & ~direct_true] = 2
    route[qualifies_true & direct_true] = 1
    if ctx.columns.valid is not None:
        qualifies[~ctx.columns.valid] = -1
        route[~ctx.columns.valid] = 0
    return PrecheckColumns(qualifies, route, low_total, high_total, indicators)


def _indicator(
    indicator: Any, ctx: _Context, parameters: Mapping[str, ParameterValue]
) -> tuple[NDArray[np.int16], NDArray[np.int16]]:
    """An indicator's (low, high) points per row, with the per-profile engine's rules for unknowns."""
    n = ctx.columns.n
    scored = []
    for source in indicator.sources:
        table = parameters[source.tiers]
        top = np.int16(max(t.points for t in table.tiers))
        num = ctx.columns.column(source.numerator)
        if source.denominator is None:
            points = _tier_points(num.values, table)
            counts = None  # a count always counts
            computed = num.known
            den_unknown = None
            unknown = ~computed
        else:
            den = ctx.columns.column(source.denominator)
            zero = den.known & (den.values == 0)
            counts = ~zero
            computed = num.known & den.known & counts
            with np.errstate(divide="ignore", invalid="ignore"):
                measured = num.values * 100 / den.values
            points = _tier_points(measured, table)
            den_unknown = ~den.known & num.known
            unknown = ~computed & counts
        low = np.where(computed, points, np.int16(0))
        high = np.where(unknown, top, low)
        scored.append((counts, computed, den_unknown, low, high))
    any_computed = np.zeros(n, dtype=bool)
    for counts, computed, _, _, _ in scored:
        any_computed |= computed if counts is None else counts & computed
    low_best = np.zeros(n, dtype=np.int16)
    high_best = np.zeros(n, dtype=np.int16)
    for counts, _computed, den_unknown, low, high in scored:
        counted = np.ones(n, dtype=bool) if counts is None else counts.copy()
        if den_unknown is not None:
            counted &= ~(any_computed & den_unknown)
        np.maximum(low_best, np.where(counted, low, np.int16(0)), out=low_best)
        np.maximum(high_best, np.where(counted, high, np.int16(0)), out=high_best)
    return low_best, high_best


def columns_from_values(model: PolicyModel, rows: int, values: Mapping[str, Any]) -> Columns:
    """Columns from plain arrays or lists with None for unknown (for tests and in-memory use)."""
    facts = {}
    for name, data in values.items():
        definition = model.facts.get(name)
        if definition is None:
            continue
        if definition.type in (FactType.TEXT, FactType.TOWN):
            arr = np.array([v if v is not None else "" for v in data], dtype=object)
            known = np.array([v is not None for v in data], dtype=bool)
        elif definition.type is FactType.BOOL:
            known = np.array([v is not None for v in data], dtype=bool)
            arr = np.array([bool(v) if v is not None else False for v in data], dtype=bool)
        else:
            known = np.array([v is not None for v in data], dtype=bool)
            arr = np.array([float(v) if v is not None else 0.0 for v in data], dtype=np.float64)
        facts[name] = Column(arr, known)
    return Columns(rows, facts)
