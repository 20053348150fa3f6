"""The column back-end: the same rule tree, evaluated over whole columns of enterprises.

A :class:`Visitor` like every back-end: each node class says what it means over arrays. An
expression is a pair of arrays ``(lo, hi)`` — the range of its value per row, a single value
where every fact is known (then ``lo is hi``: nothing is computed twice) — and a condition is a
pair of boolean masks ``(true, false)``: the rows where it certainly holds and where it certainly
fails; a row in neither is undetermined. Kleene's logic is then plain mask algebra. The
pre-check, the amounts and the benefits that cannot be combined are read from the same tree as
the per-profile engine; nothing here knows what a route or an estimate is beyond what the tree
says.

Numbers are float64: every amount in yuan up to 2**53 (9 × 10**15) is exact, so a bound is never
passed by rounding (200,000,001 > 200,000,000 holds exactly). A ratio is compared with a tier as
``num × 100 / den``, exact at every bound for whole numbers. Amounts are rounded to the fen, half
up, like the per-profile engine's Decimal arithmetic.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from ..policy.model import FactType, ParameterValue, PolicyModel, Tier
from ..rules.tree import (
    AllOf,
    AnyOf,
    Arith,
    Best,
    CategoryRef,
    Comparison,
    Condition,
    Const,
    Estimate,
    Expr,
    FactRef,
    Flag,
    Func,
    Negate,
    NotOf,
    ParamRef,
    Score,
    Total,
)
from ..rules.walk import Visitor, exact_number, facts_in, value_of

Bools = NDArray[np.bool_]
Floats = NDArray[np.float64]
Masks = tuple[Bools, Bools]
Span = tuple[Any, Any]

#: status codes in the result arrays
APPLIES, DOES_NOT_APPLY, UNDETERMINED = 0, 1, 2
_FEN = Decimal("0.01")
_EXACT = float(2**53)  # every whole number below this is a float, and so is every sum of two
_CLOSE = 1e-9  # closer than this (relative), float arithmetic may not tell two sides apart
STATUS_WORDS = ("applies", "does_not_apply", "undetermined")


@dataclass
class Column:
    """One fact over all rows: ``values`` (meaningful where ``known``) and ``known``.

    ``whole`` says every value is a whole number (the column came as integers): a ratio of two
    such columns needs no check that its floats are exact beyond their size."""

    values: NDArray[Any]
    known: Bools
    whole: bool = False


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

    def subset(self, rows: NDArray[np.intp]) -> Columns:
        """The same facts for the rows at ``rows`` only."""
        return Columns(
            len(rows),
            {
                name: Column(c.values[rows], c.known[rows], c.whole)
                for name, c in self.facts.items()
            },
            None if self.valid is None else self.valid[rows],
        )

    def column(self, name: str) -> Column:
        found = self.facts.get(name)
        if found is None:  # a fact no row gave: unknown everywhere
            found = self.facts[name] = Column(np.zeros(self.n), np.zeros(self.n, dtype=bool))
        return found


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


def _scatter(
    n: int, rows: Sequence[NDArray[np.intp]], arrays: Sequence[NDArray[Any]]
) -> NDArray[Any]:
    out = np.empty(n, dtype=arrays[0].dtype)
    for where, values in zip(rows, arrays, strict=True):
        out[where] = values
    return out


def merge_results(n: int, parts: Sequence[tuple[NDArray[np.intp], ColumnResult]]) -> ColumnResult:
    """One result for ``n`` rows from results over disjoint subsets: (row indices, result) pairs."""
    rows = [where for where, _ in parts]
    results = [result for _, result in parts]
    first = results[0]

    def each(arrays: Sequence[NDArray[Any]]) -> NDArray[Any]:
        return _scatter(n, rows, arrays)

    precheck = None
    pres = [r.precheck for r in results if r.precheck is not None]
    if len(pres) == len(results):
        precheck = PrecheckColumns(
            each([p.qualifies for p in pres]),
            each([p.route for p in pres]),
            each([p.score_low for p in pres]),
            each([p.score_high for p in pres]),
            {
                i: (
                    each([p.indicators[i][0] for p in pres]),
                    each([p.indicators[i][1] for p in pres]),
                )
                for i in pres[0].indicators
            },
        )
    return ColumnResult(
        n,
        {b: each([r.statuses[b] for r in results]) for b in first.statuses},
        precheck,
        {b: each([r.estimates[b] for r in results]) for b in first.estimates},
        {b: each([r.counted[b] for r in results]) for b in first.counted},
    )


def _point(span: Span) -> bool:
    return span[0] is span[1] or (np.isscalar(span[0]) and span[0] == span[1])


def _times(a: Any, b: Any) -> Any:
    if _finite_nonzero(a) or _finite_nonzero(b):  # no 0 × ∞ can arise: no NaN to look for
        return np.multiply(a, b)
    with np.errstate(invalid="ignore"):
        product = np.multiply(a, b)
    undefined = np.isnan(product)
    if not undefined.any():
        return product
    return np.where(undefined, 0.0, product)  # 0 × ∞ is 0: a bound, not a value


def _finite_nonzero(x: Any) -> bool:
    """A single number (a parameter, a constant) that is neither 0 nor infinite."""
    return isinstance(x, (int, float)) and x != 0 and math.isfinite(x)


def _fold(op: Any, masks: list[Any]) -> Any:
    """``op`` over the masks, pairwise into one new array (no stacked copy of all of them)."""
    if len(masks) == 1:
        return masks[0]
    out = op(masks[0], masks[1])
    for mask in masks[2:]:
        op(out, mask, out=out)
    return out


def _mask(n: int, value: Any) -> Bools:
    return np.broadcast_to(np.asarray(value, dtype=bool), (n,))


class _Columns(Visitor[Any]):
    """What each node means over a batch: ``(lo, hi)`` arrays or ``(true, false)`` masks."""

    def __init__(
        self, model: PolicyModel, columns: Columns, params: Mapping[str, ParameterValue]
    ) -> None:
        super().__init__()
        self.model = model
        self.columns = columns
        self.params = params
        self.n = columns.n
        self._spans: dict[str, Span] = {}
        self._every: dict[str, bool] = {}
        self._derived = {name: d.formula for name, d in model.derived.items()}

    # expressions

    def fact_ref(self, node: FactRef) -> Span:
        derived = self.model.derived.get(node.name)
        if derived is not None:
            span: Span = self.visit(derived.formula)
            return span
        return self.span(node.name)

    def span(self, name: str) -> Span:
        found = self._spans.get(name)
        if found is None:
            found = self._spans[name] = self._span(name)
        return found

    def _span(self, name: str) -> Span:
        fact = self.model.facts[name]
        col = self.columns.column(name)
        if fact.type in (FactType.BOOL, FactType.TEXT, FactType.TOWN):
            return (col.values, col.known)
        values = col.values.astype(np.float64, copy=False)
        if self.every_known(name):
            return (values, values)
        lo: Any = -np.inf if fact.minimum is None else float(fact.minimum)
        for other in self.model.facts.values():  # tech_staff ≤ employees: a floor of employees
            if other.maximum == name and other.id in self.columns.facts:
                below = self.columns.facts[other.id]
                lo = np.maximum(lo, np.where(below.known, below.values, lo))
        if isinstance(fact.maximum, str):
            top: Any = self.span(fact.maximum)[1]
        else:
            top = np.inf if fact.maximum is None else float(fact.maximum)
        return (np.where(col.known, values, lo), np.where(col.known, values, top))

    def param_ref(self, node: ParamRef) -> Span:
        value = self.params[node.name].value
        assert value is not None
        value = value / 100 if node.percent else value
        return (value, value)

    def const(self, node: Const) -> Span:
        return (node.literal, node.literal)

    def arith(self, node: Arith) -> Span:
        a, b = self.visit(node.left), self.visit(node.right)
        if node.op == "+":
            return (
                (a[0] + b[0], a[1] + b[1]) if not (_point(a) and _point(b)) else _same(a[0] + b[0])
            )
        if node.op == "-":
            return (
                (a[0] - b[1], a[1] - b[0]) if not (_point(a) and _point(b)) else _same(a[0] - b[0])
            )
        if _point(a) and _point(b):
            return _same(_times(a[0], b[0]))
        if _point(b) or _point(a):  # a range times a value: its two ends
            span, point = (a, b[0]) if _point(b) else (b, a[0])
            ends = _times(span[0], point), _times(span[1], point)
            return np.minimum(*ends), np.maximum(*ends)
        products = [_times(x, y) for x in a for y in b]
        return _fold(np.minimum, products), _fold(np.maximum, products)

    def negate(self, node: Negate) -> Span:
        a = self.visit(node.operand)
        return _same(-a[0]) if _point(a) else (-a[1], -a[0])

    def func(self, node: Func) -> Span:
        parts = [self.visit(x) for x in node.args]
        pick = np.maximum if node.name == "max" else np.minimum
        lo, hi = parts[0]
        for p in parts[1:]:
            lo, hi = pick(lo, p[0]), pick(hi, p[1])
        return (lo, hi)

    def score(self, node: Score) -> Span:
        tiers = self.params[node.table].tiers
        n = self.visit(node.numerator)
        if node.denominator is None:
            return (_points(tiers, n[0]), _points(tiers, n[1]))
        d = self.visit(node.denominator)
        if _point(n) and _point(d):  # every fact known: one ratio (a zero denominator scores 0)
            whole = self._whole(node.numerator) and self._whole(node.denominator)
            points = _ratio_points(tiers, self.n, n[0], d[0], whole=whole)
            return (points, points)
        top = max(t.points for t in tiers)
        low = _ratio_points(tiers, self.n, n[0], d[1])
        high = _ratio_points(tiers, self.n, n[1], d[0])
        low = np.where(d[0] == 0, 0, low)  # a denominator that may be 0 may not count
        high = np.where(d[1] == 0, 0, np.where(d[0] == 0, np.where(n[1] > 0, top, 0), high))
        return (low.astype(np.int16), high.astype(np.int16))

    def _whole(self, node: Expr) -> bool:
        """Whether an expression is a fact whose column holds whole numbers only."""
        if not isinstance(node, FactRef) or node.name in self.model.derived:
            return False
        found = self.columns.facts.get(node.name)
        return found is not None and found.whole

    def best(self, node: Best) -> Span:
        parts = [self.visit(p) for p in node.parts]
        return _fold(np.maximum, [p[0] for p in parts]), _fold(np.maximum, [p[1] for p in parts])

    def total(self, node: Total) -> Span:
        parts = [self.visit(p) for p in node.parts]
        return (sum(p[0] for p in parts), sum(p[1] for p in parts))

    # conditions

    def comparison(self, node: Comparison) -> Masks:
        if node.kind == "text":
            return self._text(node)
        a, b = self.visit(node.left), self.visit(node.right)
        op = node.op
        if _point(a) and _point(b):
            hit = _mask(self.n, _COMPARE[op](a[0], b[0]))
            return hit, ~hit
        true, false = _SPAN_COMPARE[op](a, b)
        return _mask(self.n, true), _mask(self.n, false)

    def _text(self, node: Comparison) -> Masks:
        values, known = self.visit(node.left)
        other = node.right.literal if isinstance(node.right, Const) else None
        hit = np.isin(values, list(other or ())) if node.op in ("in", "not in") else values == other
        if node.op in ("not in", "!="):
            hit = ~hit
        return known & hit, known & ~hit

    def flag(self, node: Flag) -> Masks:
        col = self.columns.column(node.fact)
        plain = node.expected is True and col.values.dtype == np.bool_
        hit = col.values if plain else col.values == node.expected
        if self.every_known(node.fact):
            return hit, ~hit
        return col.known & hit, col.known & ~hit

    def every_known(self, name: str) -> bool:
        """Whether every row of the batch gives the fact (then its masks need no known mask)."""
        found = self._every.get(name)
        if found is None:
            found = self._every[name] = bool(self.columns.column(name).known.all())
        return found

    def category_ref(self, node: CategoryRef) -> Masks:
        masks: Masks = self.visit(self.model.categories[node.category].condition)
        return masks

    def all_of(self, node: AllOf) -> Masks:
        parts = [self.visit(p) for p in node.parts]
        return _fold(np.logical_and, [p[0] for p in parts]), _fold(
            np.logical_or, [p[1] for p in parts]
        )

    def any_of(self, node: AnyOf) -> Masks:
        parts = [self.visit(p) for p in node.parts]
        return _fold(np.logical_or, [p[0] for p in parts]), _fold(
            np.logical_and, [p[1] for p in parts]
        )

    def not_of(self, node: NotOf) -> Masks:
        true, false = self.visit(node.part)
        return false, true

    # amounts

    def amount(self, estimate: Estimate, status: NDArray[np.int8]) -> Floats:
        """The estimate per row: the first case whose ``when`` holds, NaN where there is none.

        A case's formula is computed on the rows that take it only (a benefit refused on a row is
        worth nothing there: nothing is computed), each rounded to the fen as the per-profile
        engine rounds."""
        amount = np.full(self.n, np.nan)
        done = status == DOES_NOT_APPLY
        for case in estimate.cases:
            if case.when is None:
                true: Bools = _mask(self.n, True)
                open_: Bools = _mask(self.n, False)
            else:
                true, false = self.visit(case.when)
                open_ = ~(true | false)
            if all(
                self.params.get(p) is not None and self.params[p].value is not None
                for p in case.parameters
            ):
                rows = np.flatnonzero(~done & true)
                if len(rows):
                    amount[rows] = self._on_rows(case.formula, rows)
            if case.when is None:
                break  # every row left takes this case: no later case is reached
            done = done | true | open_  # a case taken, or a 'when' still open: no later case
        return amount

    def _on_rows(self, formula: Expr, rows: NDArray[np.intp]) -> Floats:
        """A formula's amounts on some rows, rounded to the fen (NaN where it is not one value)."""
        part = _Columns(self.model, self._gather(formula, rows), self.params)
        lo, hi = part.visit(formula)
        value = lo if _point((lo, hi)) else np.where(lo == hi, lo, np.nan)
        value = np.asarray(np.broadcast_to(value, (len(rows),)), dtype=np.float64)
        rounded, near = _fen_and_near_half(value)
        if len(near):
            rounded[near] = part._exact_fen(formula, near)
        return rounded

    def _gather(self, formula: Expr, rows: NDArray[np.intp]) -> Columns:
        """The facts a formula reads (and those that bound them), on ``rows`` only."""
        names = set(facts_in(formula, None, self._derived))
        for name in list(names):
            fact = self.model.facts.get(name)
            if fact is not None and isinstance(fact.maximum, str):
                names.add(fact.maximum)
        names |= {f.id for f in self.model.facts.values() if f.maximum in names}
        given = self.columns.facts
        return Columns(
            len(rows),
            {
                n: Column(given[n].values[rows], given[n].known[rows], given[n].whole)
                for n in names
                if n in given
            },
        )

    def _exact_fen(self, formula: Expr, rows: NDArray[np.intp]) -> Floats:
        """The amounts of some rows in exact decimals, rounded half up to the fen, as the
        per-profile engine computes them: the same formula in whole numbers of a power of ten
        (:class:`_Fixed`) where it fits in 64 bits, else over arrays of ``Decimal``."""
        values = {name: pv.value for name, pv in self.params.items()}
        facts = _Rows(self.columns, rows)
        try:
            fixed = value_of(formula, values, facts, self._derived, _Fixed.of, _Fixed.PICK)
            if isinstance(fixed, _Fixed):
                return np.broadcast_to(fixed.fen() / 100, (len(rows),)).copy()
        except _Inexact:
            pass
        exact = value_of(
            formula, values, facts, self._derived, facts.number, (np.maximum, np.minimum)
        )
        out = np.empty(len(rows))
        for i, value in enumerate(np.broadcast_to(exact, (len(rows),)).tolist()):
            out[i] = float(Decimal(value).quantize(_FEN, rounding=ROUND_HALF_UP))
        return out


def _same(value: Any) -> Span:
    return (value, value)


def _ratio_points(
    tiers: tuple[Tier, ...], n: int, num: Any, den: Any, *, whole: bool = False
) -> NDArray[np.int16]:
    """Points per row of ``num / den`` as a percentage, exactly as the per-profile engine scores.

    ``num · 100 ≥ at_least · den`` in floats, and where the two sides are too close for floats
    to tell, again in exact decimals of the numbers given (a ratio of exactly 2 % reaches 2 %).
    ``whole`` says both are known to hold whole numbers only.
    """
    num, den = np.broadcast_to(num, (n,)), np.broadcast_to(den, (n,))
    steps = sorted(tiers, key=lambda t: t.at_least)
    points = np.array([0, *(t.points for t in steps)], dtype=np.int16)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        lhs = num * 100
        # whole numbers whose products stay below 2**53 are compared exactly in floats: first
        # asked of the whole batch at once (two maxima, two equalities), then row by row
        top = max(abs(float(t.at_least)) for t in steps)
        exact = bool(
            _largest(lhs) < _EXACT
            and _largest(den) * top < _EXACT
            and (whole or ((np.floor(num) == num).all() and (np.floor(den) == den).all()))
        )
        table = _whole_tiers(steps, points) if exact else None
        if table is not None:
            return _quotient_points(lhs, den, *table)
        reached = np.zeros(n, dtype=np.uint8)
        whole_rows: Any = True  # only read below when not every row is exact
        if not exact:
            whole_rows = (np.floor(num) == num) & (np.floor(den) == den)
            whole_rows &= (np.abs(lhs) < _EXACT) & (np.abs(den) * top < _EXACT)
        for step in steps:
            rhs = den * step.at_least
            hit = lhs >= rhs
            if not (exact and float(step.at_least).is_integer()):
                close = np.isfinite(lhs) & np.isfinite(rhs)
                close &= np.abs(lhs - rhs) <= _CLOSE * np.abs(rhs)
                if float(step.at_least).is_integer():
                    close &= ~whole_rows
                rows = np.flatnonzero(close)
                if len(rows):
                    hit[rows] = _exact_reaches(num[rows], step.at_least, den[rows])
            reached += hit
    reached[den <= 0] = 0  # a ratio of nothing reaches no tier
    return points.take(reached)


def _whole_tiers(
    steps: Sequence[Tier], points: NDArray[np.int16]
) -> tuple[int, NDArray[np.int16]] | None:
    """For tiers at whole percentages a few apart: the points of every whole percentage from
    one below the lowest tier to the highest, as ``(first, table)``; else None."""
    ats = [float(t.at_least) for t in steps]
    if not all(a.is_integer() for a in ats) or ats[-1] - ats[0] > 1000:
        return None
    first = int(ats[0]) - 1
    every = np.arange(first, int(ats[-1]) + 1, dtype=np.float64)
    return first, points[np.searchsorted(np.array(ats), every, side="right")]


def _quotient_points(
    lhs: Floats, den: Floats, first: int, table: NDArray[np.int16]
) -> NDArray[np.int16]:
    """Points from whole ``lhs = num · 100`` and ``den`` (both below 2**53), tiers at whole
    percentages: ``num · 100 ≥ t · den`` is ``⌊lhs / den⌋ ≥ t`` for whole ``t`` and ``den > 0``.
    A float quotient can only round up onto a whole number it does not reach (it never falls
    below one it reaches, as a whole number is a float): the rows where ``q · den > lhs`` —
    a product that is exact here — are taken one down. A ratio of nothing reaches no tier."""
    q = lhs / den
    np.floor(q, out=q)
    q -= q * den > lhs
    q[den <= 0] = first  # a ratio of nothing: below every tier
    np.clip(q, first, first + len(table) - 1, out=q)
    q -= first
    return table.take(q.astype(np.intp))


def _largest(values: Any) -> float:
    """The largest magnitude in an array (NaN when it holds one), without an array of them."""
    if not np.size(values):
        return 0.0
    return float(max(np.max(values), -np.min(values)))


def _exact_reaches(num: Floats, at_least: int | float, den: Floats) -> Bools:
    """``num · 100 ≥ at_least · den`` in exact decimals of the numbers given, row by row as the
    per-profile engine decides it (a ratio of exactly 2 % reaches 2 %)."""
    with localcontext() as exact:
        exact.prec = 80  # a product of two 17-digit numbers and 100 fits: nothing is rounded
        bound = exact_number(at_least)
        return np.array(
            [
                exact_number(a) * 100 >= bound * exact_number(b)
                for a, b in zip(num.tolist(), den.tolist(), strict=True)
            ],
            dtype=bool,
        )


def _points(tiers: tuple[Tier, ...], measured: Any) -> NDArray[np.int16]:
    """Points per row from a score table (``at_least`` inclusive); NaN reaches no tier."""
    steps = sorted(tiers, key=lambda t: t.at_least)
    points = np.array([0, *(t.points for t in steps)], dtype=np.int16)
    reached = np.zeros(np.shape(measured), dtype=np.uint8)
    for step in steps:
        reached += np.asarray(measured) >= step.at_least
    return points.take(reached)


_COMPARE = {
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "==": np.equal,
    "!=": np.not_equal,
}
_SPAN_COMPARE = {
    "<=": lambda a, b: (a[1] <= b[0], a[0] > b[1]),
    "<": lambda a, b: (a[1] < b[0], a[0] >= b[1]),
    ">=": lambda a, b: (a[0] >= b[1], a[1] < b[0]),
    ">": lambda a, b: (a[0] > b[1], a[1] <= b[0]),
    "==": lambda a, b: (
        (a[0] == a[1]) & (b[0] == b[1]) & (a[0] == b[0]),
        (a[1] < b[0]) | (b[1] < a[0]),
    ),
    "!=": lambda a, b: (
        (a[1] < b[0]) | (b[1] < a[0]),
        (a[0] == a[1]) & (b[0] == b[1]) & (a[0] == b[0]),
    ),
}


def status_codes(true: Bools, false: Bools) -> NDArray[np.int8]:
    """0 applies, 1 does not apply, 2 undetermined — as 2 − 2·true − false (the masks never overlap)."""
    codes = np.full(true.shape, UNDETERMINED, dtype=np.int8)
    yes, no = true.view(np.int8), false.view(np.int8)  # the same bytes, read as 0 / 1
    codes -= yes
    codes -= yes
    codes -= no
    return codes


class _Inexact(Exception):
    """A value that is not a whole number of a power of ten within 64 bits."""


class _Fixed:
    """Exact decimals over many rows: whole numbers ``ints`` (int64) of 10 ** -``exp``.

    Used where a float amount lies too near a half fen to be rounded by floats: every fact read
    is a whole number and every parameter a short decimal, so sums and products stay exact as
    long as they fit in 64 bits (``bound``, the largest magnitude, is checked before each
    operation; past it, :class:`_Inexact` sends the rows to ``Decimal``)."""

    __slots__ = ("bound", "exp", "ints")
    LIMIT = float(2**62)

    def __init__(self, ints: Any, exp: int, bound: float) -> None:
        if bound >= self.LIMIT:
            raise _Inexact
        self.ints, self.exp, self.bound = ints, exp, bound

    @classmethod
    def of(cls, x: Any) -> _Fixed:
        """A fact's column (whole numbers below 2**53) or a parameter or constant."""
        if isinstance(x, np.ndarray):
            if not ((np.floor(x) == x) & (np.abs(x) < _EXACT)).all():
                raise _Inexact
            return cls(x.astype(np.int64), 0, float(np.abs(x).max(initial=0.0)))
        number = exact_number(x)
        exp = max(0, -int(number.as_tuple().exponent))
        whole = int(number.scaleb(exp))
        return cls(whole, exp, float(abs(whole)))

    def _at(self, exp: int) -> tuple[Any, float]:
        scale = 10 ** (exp - self.exp)
        return self.ints * scale, self.bound * scale

    def _aligned(self, other: _Fixed) -> tuple[Any, Any, int, float]:
        exp = max(self.exp, other.exp)
        (a, ba), (b, bb) = self._at(exp), other._at(exp)
        if max(ba, bb) >= self.LIMIT:
            raise _Inexact
        return a, b, exp, ba + bb

    def __add__(self, other: _Fixed) -> _Fixed:
        a, b, exp, bound = self._aligned(other)
        return _Fixed(a + b, exp, bound)

    def __sub__(self, other: _Fixed) -> _Fixed:
        a, b, exp, bound = self._aligned(other)
        return _Fixed(a - b, exp, bound)

    def __mul__(self, other: _Fixed) -> _Fixed:
        bound = self.bound * other.bound
        if bound >= self.LIMIT:
            raise _Inexact
        return _Fixed(self.ints * other.ints, self.exp + other.exp, bound)

    def __truediv__(self, other: int) -> _Fixed:
        if other != 100:  # a percentage is the only division a formula makes
            raise _Inexact
        return _Fixed(self.ints, self.exp + 2, self.bound)

    def __neg__(self) -> _Fixed:
        return _Fixed(-self.ints, self.exp, self.bound)

    @staticmethod
    def _pick(op: Any) -> Any:
        def chosen(a: _Fixed, b: _Fixed) -> _Fixed:
            x, y, exp, bound = a._aligned(b)
            return _Fixed(op(x, y), exp, bound)

        return chosen

    PICK: ClassVar[tuple[Any, Any]]

    def fen(self) -> Any:
        """The value in whole fen, rounded half away from zero (Decimal's ROUND_HALF_UP)."""
        if self.exp <= 2:
            ints, bound = self._at(2)
            return _Fixed(ints, 2, bound).ints
        step = 10 ** (self.exp - 2)
        ints = np.asarray(self.ints, dtype=np.int64)
        return np.sign(ints) * ((np.abs(ints) + step // 2) // step)


_Fixed.PICK = (_Fixed._pick(np.maximum), _Fixed._pick(np.minimum))


class _Rows:
    """The values of some rows, by fact id, as arrays of exact decimals (an amount is taken only
    where it is determined, so every fact its formula reads is known on these rows)."""

    def __init__(self, columns: Columns, rows: NDArray[np.intp]) -> None:
        self.columns, self.rows = columns, rows

    def get(self, name: str) -> Any:
        col = self.columns.facts.get(name)
        if col is None or not col.known[self.rows].all():
            return None
        return col.values[self.rows].astype(np.float64)

    @staticmethod
    def number(x: Any) -> Any:
        """A value, or each value of an array, as the exact decimal it was written as."""
        if isinstance(x, np.ndarray):
            return np.array([exact_number(v) for v in x.tolist()], dtype=object)
        return exact_number(x)


def _fen_and_near_half(amount: Floats) -> tuple[Floats, NDArray[np.intp]]:
    """The amounts rounded to the fen as :func:`to_fen` rounds them, and the rows whose amount
    lies so near a half fen that float rounding may fall on either side (to be rounded again in
    exact decimals). One pass of temporaries: ``y = |amount|·100 + ½`` gives both the fen
    (``⌊y⌋``) and the distance of ``|amount|·100`` from a half fen (``y − ⌊y⌋`` from 0 or 1)."""
    with np.errstate(invalid="ignore"):
        x = np.abs(amount)
        x *= 100
        tolerance = x * 1e-12
        tolerance += 1e-9
        x += 0.5
        fen = np.floor(x)
        x -= fen  # the fraction of y, in [0, 1)
        near = x <= tolerance
        x -= 1.0
        np.negative(x, out=x)
        near |= x <= tolerance
    np.copysign(fen, amount, out=fen)
    fen /= 100
    return fen, np.flatnonzero(near)


def to_fen(amount: Floats) -> Floats:
    """Round to 0.01 yuan, half away from zero (as Decimal's ROUND_HALF_UP does)."""
    out = np.abs(amount)
    out *= 100
    out += 0.5
    np.floor(out, out=out)
    np.copysign(out, amount, out=out)
    out /= 100
    return out


def sum_fen(amounts: Floats) -> int:
    """The exact sum, in fen, of amounts already rounded to the fen (no float drift over millions)."""
    return int(np.rint(amounts * 100).astype(np.int64).sum())


def evaluate_columns(
    model: PolicyModel, columns: Columns, parameters: Mapping[str, ParameterValue]
) -> ColumnResult:
    """Evaluate every benefit, the pre-check and the estimates over the rows of ``columns``."""
    walk = _Columns(model, columns, parameters)
    statuses = {b.id: status_codes(*walk.visit(b.condition)) for b in model.benefits.values()}
    precheck = _precheck(walk, model) if model.evaluation is not None else None
    estimates = {
        b.id: walk.amount(b.estimate, statuses[b.id])
        for b in model.benefits.values()
        if b.estimate is not None
    }
    counted = {b: np.ones(columns.n, dtype=bool) for b in estimates}
    for rule in model.exclusions:
        if rule.first in estimates and rule.second in estimates:
            a, b = estimates[rule.first], estimates[rule.second]
            both = (
                (statuses[rule.first] == APPLIES)
                & (statuses[rule.second] == APPLIES)
                & ~np.isnan(a)
                & ~np.isnan(b)
            )
            counted[rule.second] &= ~(both & (a >= b))
            counted[rule.first] &= ~(both & (a < b))
    if columns.valid is not None:
        invalid = ~columns.valid
        for codes in statuses.values():
            codes[invalid] = UNDETERMINED
        for amounts in estimates.values():
            amounts[invalid] = np.nan
    return ColumnResult(columns.n, statuses, precheck, estimates, counted)


def evaluate_condition(
    model: PolicyModel,
    condition: Condition,
    columns: Columns,
    parameters: Mapping[str, ParameterValue],
) -> Masks:
    """One condition over the rows of ``columns``: the masks where it holds and where it fails."""
    true, false = _Columns(model, columns, parameters).visit(condition)
    return np.broadcast_to(true, (columns.n,)), np.broadcast_to(false, (columns.n,))


def condition_masks(
    model: PolicyModel, columns: Columns, parameters: Mapping[str, ParameterValue]
) -> Callable[[Condition], Masks]:
    """The (holds, fails) masks of any condition over the rows of ``columns``, each node
    evaluated once (for explanations that read the parts of a condition, not just its result)."""
    walk = _Columns(model, columns, parameters)
    n = columns.n

    def masks(condition: Condition) -> Masks:
        true, false = walk.visit(condition)
        return np.broadcast_to(true, (n,)), np.broadcast_to(false, (n,))

    return masks


def _precheck(walk: _Columns, model: PolicyModel) -> PrecheckColumns:
    method = model.evaluation
    assert method is not None
    true, false = walk.visit(method.rule)
    direct_true, _ = walk.visit(method.direct_rule)
    total = method.total
    low, high = walk.visit(total)
    n = walk.n
    true, false, direct_true = (_mask(n, m) for m in (true, false, direct_true))
    yes, open_ = true.view(np.int8), (~(true | false)).view(np.int8)
    qualifies = yes - open_  # 1 qualifies, 0 does not, -1 undetermined
    route = yes * (2 - direct_true.view(np.int8))  # 1 direct, 2 by score, 0 neither
    valid = walk.columns.valid
    if valid is not None and not valid.all():
        qualifies[~valid] = -1
        route[~valid] = 0
    indicators = {i.id: tuple(_int16(x, n) for x in walk.visit(i)) for i in method.indicators}
    return PrecheckColumns(
        qualifies,
        route,
        _int16(low, n),
        _int16(high, n),
        indicators,  # type: ignore[arg-type]
    )


def _int16(points: Any, n: int) -> NDArray[np.int16]:
    """Points as an int16 array of ``n`` rows (the array itself when it already is one)."""
    found = np.asarray(points)
    if found.dtype == np.int16 and found.shape == (n,):
        return found
    return np.broadcast_to(found, (n,)).astype(np.int16)


def columns_from_values(model: PolicyModel, rows: int, values: Mapping[str, Any]) -> Columns:
    """Columns from plain lists with None for unknown (for tests and in-memory use)."""
    facts = {}
    for name, data in values.items():
        definition = model.facts.get(name)
        if definition is None:
            continue
        known = np.array([v is not None for v in data], dtype=bool)
        if definition.type in (FactType.TEXT, FactType.TOWN):
            arr: NDArray[Any] = np.array([v if v is not None else "" for v in data], dtype=object)
        elif definition.type is FactType.BOOL:
            arr = np.array([bool(v) if v is not None else False for v in data], dtype=bool)
        else:
            arr = np.array([float(v) if v is not None else 0.0 for v in data], dtype=np.float64)
        facts[name] = Column(arr, known)
    return Columns(rows, facts)


__all__ = [
    "Column",
    "ColumnResult",
    "Columns",
    "PrecheckColumns",
    "condition_masks",
    "evaluate_columns",
    "evaluate_condition",
    "sum_fen",
    "to_fen",
]
