"""The pre-check's smallest change: the least increase of one scored fact that makes it pass.

Candidates come straight from the score tables: for a ratio ``fact / den`` the least value of the
fact that reaches each tier is ``⌈at_least × den / 100⌉`` (exact, in integers where the data are);
for a count, ``⌈at_least⌉``. Each candidate is tried by re-running only the steps of the plan that
depend on that fact (``Plan.what_if``), not the whole evaluation; the first candidate that passes
is the smallest change for that fact. Changes are ranked by their size relative to the current
value. A change must keep the profile valid (``tech_staff`` stays within ``employees``).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from ..backends.trace import Record
from ..policy.model import EvaluationMethod
from ..rules.tree import Best, FactRef, Score
from .results import Change


def smallest_changes(record: Record, method: EvaluationMethod) -> tuple[Change, ...]:
    """For each scored fact, the least increase that alone makes the enterprise qualify."""
    plan, values = record.plan, record.values
    assert plan.qualifies is not None
    total = method.total
    total_slot = plan.slot(total)
    found: list[Change] = []
    scored = {
        s.numerator.name: ind
        for ind in method.indicators
        for s in ind.parts
        if isinstance(s.numerator, FactRef)
    }
    for fact, indicator in scored.items():
        current = values.get(fact)
        if current is None:
            continue
        for candidate in _candidates(indicator, fact, values, plan.model.parameters, record):
            if candidate <= current or not _within(record, fact, candidate):
                continue
            w = plan.what_if(record.v, values, fact, candidate)
            if w[plan.qualifies] is not True:
                continue
            _source, measured = _best_source(indicator, fact, candidate, values, w, plan)
            found.append(
                Change(
                    fact,
                    current,
                    candidate,
                    indicator.id,
                    measured,
                    w[plan.slot(indicator)][0],
                    w[total_slot][0],
                )
            )
            break
    found.sort(key=lambda c: (c.relative, c.delta))
    return tuple(found)


def _tiers(record: Record, source: Score) -> Any:
    return record.v[record.plan.param_slot(source.table, False, False)]


def _candidates(
    indicator: Best, fact: str, values: Any, parameters: Any, record: Record
) -> list[int]:
    """The least values of ``fact`` that reach each step of the tables it is scored against."""
    out: set[int] = set()
    for source in indicator.parts:
        if not isinstance(source.numerator, FactRef) or source.numerator.name != fact:
            continue
        for tier in _tiers(record, source):
            bound = (
                Fraction(repr(tier.at_least))
                if isinstance(tier.at_least, float)
                else Fraction(tier.at_least)
            )
            if source.denominator is None:
                out.add(math.ceil(bound))
                continue
            assert isinstance(source.denominator, FactRef)
            den = values.get(source.denominator.name)
            if den is None or den == 0:
                continue
            exact_den = Fraction(repr(den)) if isinstance(den, float) else Fraction(den)
            out.add(math.ceil(bound * exact_den / 100))
    return sorted(out)


def _within(record: Record, fact: str, value: Any) -> bool:
    """A change must keep the profile valid (``max`` of the fact definition)."""
    limit = record.plan.model.facts[fact].maximum
    if isinstance(limit, str):
        limit = record.values.get(limit)
    return limit is None or value <= limit


def _best_source(
    indicator: Best, fact: str, candidate: Any, values: Any, w: list[Any], plan: Any
) -> tuple[Score, Fraction]:
    sources = [
        s for s in indicator.parts if isinstance(s.numerator, FactRef) and s.numerator.name == fact
    ]
    best = max(sources, key=lambda s: w[plan.slot(s)][0])
    if best.denominator is None:
        return best, Fraction(candidate)
    assert isinstance(best.denominator, FactRef)
    den = values[best.denominator.name]
    return best, Fraction(candidate * 100, den) if type(den) is int else Fraction(
        candidate
    ) * 100 / Fraction(repr(den))
