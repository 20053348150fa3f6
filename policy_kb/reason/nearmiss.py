"""What would change the answer: the gap of each failing condition, and which facts to supply.

Both are read off the evaluation records: a benefit that does not apply lists its failing
conditions with the distance to the bound in the fact's own unit (150,000 of 200,000: 50,000
short); an undetermined answer lists the missing facts, those that would settle the most answers
first. The sentences are written by :mod:`policy_kb.views.words`.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ..backends.trace import Trace
from ..policy.model import PRECHECK, Status
from ..records import Valued
from ..rules import interval as iv
from ..rules.tree import AnyOf, Comparison, FactRef, Flag, NotOf
from .results import BenefitResult, Evaluation


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Gap(Valued):
    """One failing condition and how far the profile is from meeting it."""

    trace: Trace
    fact: str | None
    value: Any
    threshold: Any
    operator: str
    gap: Fraction | int | None  # how much the fact must rise (short) or fall (over); None: yes/no
    direction: str  # "short", "over" or "flag"
    alternatives: bool  # one of several alternatives (an ``any:`` group), not required alone


#: the smallest change that counts against a strict bound: one yuan, one person, one item
_STEP = 1


def gaps(result: BenefitResult) -> list[Gap]:
    """The failing conditions of a benefit that does not apply, with their gaps."""
    if result.status is not Status.DOES_NOT_APPLY:
        return []
    found: list[Gap] = []
    _failing(result.trace, False, found)
    return found


def _failing(trace: Trace, alternatives: bool, found: list[Gap]) -> None:
    if trace.outcome is not False:
        return
    cond = trace.condition
    if isinstance(cond, Flag):
        found.append(
            Gap(
                trace,
                cond.fact,
                trace.facts.get(cond.fact),
                cond.expected,
                "is",
                None,
                "flag",
                alternatives,
            )
        )
    elif isinstance(cond, Comparison):
        found.append(_comparison_gap(trace, cond, alternatives))
    elif isinstance(cond, NotOf):
        found.append(Gap(trace.parts[0], None, None, None, "not", None, "flag", alternatives))
    else:
        within = alternatives or isinstance(cond, AnyOf)
        for part in trace.parts:
            _failing(part, within, found)


def _comparison_gap(trace: Trace, cond: Comparison, alternatives: bool) -> Gap:
    fact = cond.left.name if isinstance(cond.left, FactRef) else None
    value = trace.facts.get(fact) if fact else None
    threshold = trace.threshold
    op = cond.op
    gap: Fraction | int | None = None
    direction = "flag"
    numbers = (int, float)
    if (
        isinstance(value, numbers)
        and isinstance(threshold, numbers)
        and not isinstance(value, bool)
    ):
        # whole numbers subtract exactly as they are; a decimal as the fraction it prints as
        v: Fraction | int = value if type(value) is int else iv.exact(value)
        t: Fraction | int = threshold if type(threshold) is int else iv.exact(threshold)
        if op in (">=", ">"):
            direction, gap = "short", t - v + (_STEP if op == ">" else 0)
        elif op in ("<=", "<"):
            direction, gap = "over", v - t + (_STEP if op == "<" else 0)
    return Gap(trace, fact, value, threshold, op, gap, direction, alternatives)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Supply(Valued):
    """A missing fact, and the undetermined answers it appears in."""

    fact: str
    settles: tuple[str, ...]


def to_supply(ev: Evaluation) -> list[Supply]:
    """The facts to supply, those that appear in most undetermined answers first."""
    where: dict[str, list[str]] = {}
    for b in ev.benefits:
        if b.status is Status.UNDETERMINED:
            for fact in b.missing:
                where.setdefault(fact, []).append(b.id)
    if ev.precheck is not None and ev.precheck.qualifies is None:
        for fact in ev.precheck.missing:
            where.setdefault(fact, []).append(PRECHECK)
    order = {fact: i for i, fact in enumerate(where)}
    ranked = sorted(where, key=lambda f: (-len(where[f]), order[f]))
    return [Supply(f, tuple(where[f])) for f in ranked]
