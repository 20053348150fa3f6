"""Can an estimate be negative? A search of the corners of every formula's pieces.

The estimate formulas are piecewise linear in the facts: sums and differences of facts times
parameters, bent by ``min`` / ``max`` where a fact meets a bound (``min(income, limit)``) or
another fact (``max(0, a - b)``). Such a function takes its least value over a box of fact
ranges at a corner of one of its linear pieces, and those corners lie on the grid formed by each
fact's range ends, 0, the bounds where the formula bends, and the other facts' grid values. So
evaluating the formula, exactly, at every point of that grid finds a negative value if there is
one. (Plain interval arithmetic cannot: in ``t × 25 % − min(t, L) × 5 %`` the two terms move
together, and intervals treat them as independent, so they "find" negatives that never occur.)

A formula that multiplies two facts together is not piecewise linear; it is still searched on the
same grid, and reported as searched, not proved.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .tree import Arith, Expr
from .walk import constant_value, exact_number, facts_in, kinks_of, value_of, walk

#: the widest range searched for a fact whose range the file does not declare
OPEN_RANGE = (Decimal("-1E+15"), Decimal("1E+15"))


@dataclass(frozen=True)
class SignCheck:
    """The least value a formula was found to take, where, and whether the search is a proof."""

    least: Decimal
    at: Mapping[str, Decimal]
    proved: bool


def _expand(expr: Expr, derived: Mapping[str, Expr]) -> tuple[str, ...]:
    names: dict[str, None] = {}
    for name in facts_in(expr):
        if name in derived:
            names.update(dict.fromkeys(_expand(derived[name], derived)))
        else:
            names[name] = None
    return tuple(names)


def _linear(expr: Expr, derived: Mapping[str, Expr]) -> bool:
    return not any(
        isinstance(node, Arith)
        and node.op == "*"
        and _expand(node.left, derived)
        and _expand(node.right, derived)
        for node in walk(expr)
    )


def least_value(
    formula: Expr,
    params: Mapping[str, Any],
    ranges: Mapping[str, tuple[Decimal, Decimal]],
    derived: Mapping[str, Expr],
) -> SignCheck | None:
    """The least value of ``formula`` over the fact ``ranges`` (None if it reads no fact or
    cannot be evaluated). ``params`` maps parameter ids to their values in the year."""
    facts = _expand(formula, derived)
    if not facts:
        return None
    exprs = [formula, *(derived[f] for f in facts_in(formula) if f in derived)]
    bends: dict[str, set[Decimal]] = {f: set() for f in facts}
    for expr in exprs:
        for fact, bound in kinks_of(expr):
            value = constant_value(bound, params)
            if fact in bends and isinstance(value, (int, float, Decimal)):
                bends[fact].add(exact_number(value))
    pool = {Decimal(0)} | {v for values in bends.values() for v in values}
    pool |= {end for f in facts for end in ranges.get(f, OPEN_RANGE)}
    grids = []
    for fact in facts:
        lo, hi = ranges.get(fact, OPEN_RANGE)
        grids.append(sorted(v for v in pool if lo <= v <= hi) or [lo])
    best: SignCheck | None = None
    for point in itertools.product(*grids):
        known = dict(zip(facts, point, strict=True))
        value = value_of(formula, params, known, derived, exact_number)
        if value is None:
            continue
        value = exact_number(value)
        if best is None or value < best.least:
            best = SignCheck(value, known, True)
    if best is not None and not _linear(formula, derived):
        best = SignCheck(best.least, best.at, False)
    return best


def fact_ranges(
    minimum: Mapping[str, Any], maximum: Mapping[str, Any]
) -> dict[str, tuple[Decimal, Decimal]]:
    """Ranges from the facts' declared bounds (a bound naming another fact takes its range)."""
    found: dict[str, tuple[Decimal, Decimal]] = {}
    for fact in set(minimum) | set(maximum):
        lo, hi = minimum.get(fact), maximum.get(fact)
        if isinstance(hi, str):
            hi = maximum.get(hi)
        found[fact] = (
            OPEN_RANGE[0] if not isinstance(lo, (int, float)) else exact_number(lo),
            OPEN_RANGE[1] if not isinstance(hi, (int, float)) else exact_number(hi),
        )
    return found
