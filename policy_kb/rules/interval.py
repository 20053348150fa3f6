"""Unknown facts as ranges: interval arithmetic and three-valued comparison.

A known number ``v`` is the interval ``(v, v)``; an unknown one is the range its definition allows
(``(0, inf)`` for an amount, ``(0, employees)`` for the tech staff). Arithmetic gives the range of
the result; a comparison is *true* when it holds for every value of both ranges, *false* when it
fails for every value, and unknown (``None``) otherwise. With every fact known this is ordinary
arithmetic: the ranges are points. The functions work on ints, floats and Decimals alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fractions import Fraction

Tri = bool | None
"""A three-valued truth value: ``True``, ``False`` or ``None`` for unknown."""

Interval = tuple[Any, Any]

INF = float("inf")


def point(value: Any) -> Interval:
    return (value, value)


def add(a: Interval, b: Interval) -> Interval:
    return (a[0] + b[0], a[1] + b[1])


def sub(a: Interval, b: Interval) -> Interval:
    return (a[0] - b[1], a[1] - b[0])


def _times(x: Any, y: Any) -> Any:
    """A bound times a bound: 0 × ∞ is 0 (a bound of ∞ stands for "as large as you like")."""
    if not x or not y:
        return x * 0 if not x else y * 0
    return x * y


def mul(a: Interval, b: Interval) -> Interval:
    if a[0] == a[1] and b[0] == b[1]:
        v = _times(a[0], b[0])
        return (v, v)
    products = (_times(a[0], b[0]), _times(a[0], b[1]), _times(a[1], b[0]), _times(a[1], b[1]))
    return (min(products), max(products))


def neg(a: Interval) -> Interval:
    return (-a[1], -a[0])


def largest(parts: Iterable[Interval]) -> Interval:
    items = list(parts)
    if len(items) == 2:
        (a, b), (c, d) = items
        return (a if a >= c else c, b if b >= d else d)
    return (max(p[0] for p in items), max(p[1] for p in items))


def smallest(parts: Iterable[Interval]) -> Interval:
    items = list(parts)
    return (min(p[0] for p in items), min(p[1] for p in items))


def total(parts: Iterable[Interval]) -> Interval:
    lo = hi = 0
    for p in parts:
        lo += p[0]
        hi += p[1]
    return (lo, hi)


def le(a: Interval, b: Interval) -> Tri:
    if a[1] <= b[0]:
        return True
    if a[0] > b[1]:
        return False
    return None


def lt(a: Interval, b: Interval) -> Tri:
    if a[1] < b[0]:
        return True
    if a[0] >= b[1]:
        return False
    return None


def ge(a: Interval, b: Interval) -> Tri:
    if a[0] >= b[1]:
        return True
    if a[1] < b[0]:
        return False
    return None


def gt(a: Interval, b: Interval) -> Tri:
    if a[0] > b[1]:
        return True
    if a[1] <= b[0]:
        return False
    return None


def eq(a: Interval, b: Interval) -> Tri:
    if a[0] == a[1] == b[0] == b[1]:
        return True
    if a[1] < b[0] or b[1] < a[0]:
        return False
    return None


def ne(a: Interval, b: Interval) -> Tri:
    same = eq(a, b)
    return None if same is None else not same


COMPARE = {"<=": le, "<": lt, ">=": ge, ">": gt, "==": eq, "!=": ne}


def all_of(values: Iterable[Tri]) -> Tri:
    """Kleene's *and*: false as soon as one part is false; unknown wins over true."""
    result: Tri = True
    for v in values:
        if v is False:
            return False
        if v is None:
            result = None
    return result


def any_of(values: Iterable[Tri]) -> Tri:
    """Kleene's *or*: true as soon as one part is true; unknown wins over false."""
    result: Tri = False
    for v in values:
        if v is True:
            return True
        if v is None:
            result = None
    return result


# ── score tables ─────────────────────────────────────────────────────────────────────────────


def reaches(value: Any, bound: Any, den: Any = None) -> bool:
    """``value ≥ bound`` (a count) or ``value / den ≥ bound %`` (a ratio), exactly."""
    if den is None:
        return bool(value >= bound)
    if value == INF:
        return True
    if type(value) is int and type(den) is int and type(bound) is int:
        return value * 100 >= bound * den
    return exact(value) * 100 >= exact(bound) * exact(den)


def exact(x: Any) -> Fraction:
    """A number as an exact fraction; a float as the decimal it prints as (0.1 is 1/10, not the
    binary float nearest to it), since that is the figure a person typed."""
    from fractions import Fraction

    return Fraction(repr(x)) if isinstance(x, float) else Fraction(x)


def _points(tiers: Any, value: Any, den: Any = None) -> int:
    for tier in tiers:  # highest first
        if reaches(value, tier.at_least, den):
            return int(tier.points)
    return 0


def count_points(tiers: Any, n: Interval) -> Interval:
    """The points a count earns in a score table (``at_least`` inclusive), as a range."""
    if n[0] == n[1]:  # a known count: one look-up
        p = _points(tiers, n[0])
        return (p, p)
    return (_points(tiers, n[0]), _points(tiers, n[1]))


def ratio_points(tiers: Any, n: Interval, d: Interval) -> Interval:
    """The points of ``n / d`` as a percentage; a denominator of 0 does not count (0 points)."""
    if d[1] == 0:
        return (0, 0)
    if n[0] == n[1] and d[0] == d[1]:  # a known ratio: one look-up
        p = _points(tiers, n[0], d[0])
        return (p, p)
    lo = 0 if d[0] == 0 else _points(tiers, n[0], d[1]) if d[1] != INF else _points(tiers, 0)
    hi = (_points(tiers, INF) if n[1] > 0 else 0) if d[0] == 0 else _points(tiers, n[1], d[0])
    return (lo, hi)
