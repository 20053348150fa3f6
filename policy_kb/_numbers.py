"""Numbers as policy_kb keeps them: exact inside, plain ints and floats outside.

Amounts are computed with ``Decimal`` (exact for the decimal figures a policy prints: 25 % − 15 %
is exactly 10 %), ratios against score tiers with ``Fraction`` or plain integers.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

_FEN = Decimal("0.01")


def exact(value: Any) -> Fraction:
    """A number as an exact fraction; a float is read as the decimal it prints as (0.1 → 1/10)."""
    if isinstance(value, Fraction):
        return value
    if isinstance(value, float):
        return Fraction(repr(value))
    return Fraction(value)


def decimal(value: Any) -> Decimal:
    """A number as a Decimal; a float is read as the decimal it prints as."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, Fraction):
        return Decimal(value.numerator) / Decimal(value.denominator)
    return Decimal(value)


def to_fen(value: Decimal) -> Decimal:
    """An amount rounded to the fen (0.01 yuan), half up."""
    return value.quantize(_FEN, rounding=ROUND_HALF_UP)


_PASS = frozenset({int, str, bool, type(None)})


def plain(value: Any) -> Any:
    """A JSON-friendly number: integral values become ints, others floats."""
    if type(value) in _PASS:  # the common case, without isinstance on ABC-backed number types
        return value
    if isinstance(value, (Fraction, Decimal)):
        return int(value) if value == int(value) else float(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
