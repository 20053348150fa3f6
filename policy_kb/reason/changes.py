"""The pre-check's smallest change: the least increase of one scored fact that makes it pass.

Candidates come straight from the score tables: for a ratio ``fact / den`` the least value of the
fact that reaches each tier is ``⌈at_least × den / 100⌉`` (exact, in integers where the data are);
for a count, ``⌈at_least⌉``. Each candidate is then scored from the same tables: the fact's
sources get their points at the candidate value, its indicator takes the best of its sources, the
total changes by the indicator's difference, and the candidate passes when the total reaches the
pass mark for sure and no must-not-be-zero indicator can be at 0. Nothing is re-run. Only when the
fact is read by some other part of the rule as well (a basic condition, a direct route, a
denominator, a second indicator) is the candidate tried by re-running the steps of the plan that
depend on it (``Plan.what_if``). Changes are ranked by their size relative to the current value.
A change must keep the profile valid (``tech_staff`` stays within ``employees``).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from ..backends.trace import Record
from ..policy.model import EvaluationMethod
from ..rules import interval as iv
from ..rules.tree import Best, Comparison, FactRef, Score
from ..rules.walk import facts_in, facts_of
from .results import Change


def smallest_changes(record: Record, method: EvaluationMethod) -> tuple[Change, ...]:
    """For each scored fact, the least increase that alone makes the enterprise qualify."""
    plan, values = record.plan, record.values
    assert plan.qualifies is not None
    found: list[Change] = []
    scored = {
        s.numerator.name: ind
        for ind in method.indicators
        for s in ind.parts
        if isinstance(s.numerator, FactRef)
    }
    alone = _scored_alone(plan, method)
    for fact, indicator in scored.items():
        current = values.get(fact)
        if current is None:
            continue
        for candidate in _candidates(indicator, fact, values, plan.model.parameters, record):
            if candidate <= current or not _within(record, fact, candidate):
                continue
            if fact in alone:
                change = _from_tables(record, method, indicator, fact, current, candidate)
            else:
                change = _by_running(record, indicator, fact, current, candidate, method)
            if change is not None:
                found.append(change)
                break
    found.sort(key=lambda c: (c.relative, c.delta))
    return tuple(found)


def _scored_alone(plan: Any, method: EvaluationMethod) -> frozenset[str]:
    """The facts that only ever enter the rule as the numerator of one indicator's sources: their
    changes can be scored from the tables alone (kept by the plan, worked out once)."""
    key = ("scored alone", id(method))
    found = plan.static.get(key)
    if found is None:
        categories = {k: c.condition for k, c in plan.model.categories.items()}
        elsewhere = set(facts_of(method.basic_rule, categories))
        elsewhere |= set(facts_of(method.direct_rule, categories))
        seen: dict[str, int] = {}
        for ind in method.indicators:
            for source in ind.parts:
                if source.denominator is not None:
                    elsewhere |= set(facts_in(source.denominator))
                if not isinstance(source.numerator, FactRef):
                    elsewhere |= set(facts_in(source.numerator))
            for name in dict.fromkeys(
                s.numerator.name for s in ind.parts if isinstance(s.numerator, FactRef)
            ):
                seen[name] = seen.get(name, 0) + 1
        # a fact that bounds another (employees ≥ tech_staff) changes that one's range too
        elsewhere |= {f.maximum for f in plan.model.facts.values() if isinstance(f.maximum, str)}
        derived = set(plan.model.derived)
        found = frozenset(
            f for f, n in seen.items() if n == 1 and f not in elsewhere and f not in derived
        )
        plan.static[key] = found
    return found  # type: ignore[no-any-return]


def _from_tables(
    record: Record,
    method: EvaluationMethod,
    indicator: Best,
    fact: str,
    current: Any,
    candidate: int,
) -> Change | None:
    """The change to ``candidate``, scored from the tables (None when it does not pass)."""
    plan, v = record.plan, record.v
    new_points: dict[int, tuple[int, int]] = {}
    for source in indicator.parts:
        if isinstance(source.numerator, FactRef) and source.numerator.name == fact:
            tiers = _tiers(record, source)
            if source.denominator is None:
                new_points[id(source)] = iv.count_points(tiers, (candidate, candidate))
            else:
                den = v[plan.slot(source.denominator)]
                new_points[id(source)] = iv.ratio_points(tiers, (candidate, candidate), den)
    parts = [new_points.get(id(s), v[plan.slot(s)]) for s in indicator.parts]
    low, high = iv.largest(parts)
    changed = {id(indicator): (low, high)}
    total = iv.total([changed.get(id(i), v[plan.slot(i)]) for i in method.total.parts])
    changed[id(method.total)] = total
    if _score_rule(record, method, changed) is not True:
        return None
    best = max(
        (s for s in indicator.parts if id(s) in new_points), key=lambda s: new_points[id(s)][0]
    )
    return Change(
        fact,
        current,
        candidate,
        indicator.id,
        _measured(best, candidate, record.values),
        low,
        total[0],
    )


def _score_rule(record: Record, method: EvaluationMethod, changed: dict[int, Any]) -> Any:
    """The tree's score rule (total ≥ pass mark, each must-not-be-zero indicator > 0) decided with
    some of its nodes' values replaced by ``changed`` (node id → value), the others as the
    record has them: the rule as measures.yaml states it, not written again here."""
    plan, v = record.plan, record.v

    def value(node: Any) -> Any:
        found = changed.get(id(node))
        return found if found is not None else v[plan.slot(node)]

    parts = []
    for cond in method.score_rule.children():
        assert isinstance(cond, Comparison)
        parts.append(iv.COMPARE[cond.op](value(cond.left), value(cond.right)))
    return iv.all_of(parts)


def _by_running(
    record: Record,
    indicator: Best,
    fact: str,
    current: Any,
    candidate: int,
    method: EvaluationMethod,
) -> Change | None:
    """The change to ``candidate``, tried by re-running the steps that depend on ``fact``."""
    plan, values = record.plan, record.values
    assert plan.qualifies is not None
    w = plan.what_if(record.v, values, fact, candidate)
    if w[plan.qualifies] is not True:
        return None
    sources = [
        s for s in indicator.parts if isinstance(s.numerator, FactRef) and s.numerator.name == fact
    ]
    best = max(sources, key=lambda s: w[plan.slot(s)][0])
    return Change(
        fact,
        current,
        candidate,
        indicator.id,
        _measured(best, candidate, values),
        w[plan.slot(indicator)][0],
        w[plan.slot(method.total)][0],
    )


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
        bounds = _bounds(record, source)
        if source.denominator is None:
            out.update(math.ceil(bound) for bound in bounds)
            continue
        assert isinstance(source.denominator, FactRef)
        den = values.get(source.denominator.name)
        if den is None or den == 0:
            continue
        exact_den = iv.exact(den)
        n, d = exact_den.numerator, exact_den.denominator * 100
        # ⌈bound × den / 100⌉ in integers: −(−(p × n) // (q × d)) for bound = p / q
        out.update(-(-b.numerator * n // (b.denominator * d)) for b in bounds)
    return sorted(out)


def _bounds(record: Record, source: Score) -> tuple[Fraction, ...]:
    """The tiers' lower bounds of a way of scoring, exact (kept per table of tiers: one per
    year's parameters)."""
    tiers = _tiers(record, source)
    table, key = record.plan.static, ("tier bounds", id(tiers))
    found: tuple[Any, tuple[Fraction, ...]] | None = table.get(key)
    if found is None or found[0] is not tiers:
        bounds = tuple(iv.exact(t.at_least) for t in tiers)
        found = table[key] = (tiers, bounds)
    return found[1]


def _within(record: Record, fact: str, value: Any) -> bool:
    """A change must keep the profile valid (``max`` of the fact definition)."""
    limit = record.plan.model.facts[fact].maximum
    if isinstance(limit, str):
        limit = record.values.get(limit)
    return limit is None or value <= limit


def _measured(best: Score, candidate: Any, values: Any) -> Fraction:
    """What the best source measures at the candidate value: the count, or the percentage."""
    if best.denominator is None:
        return Fraction(candidate)
    assert isinstance(best.denominator, FactRef)
    den = values[best.denominator.name]
    if type(den) is int:
        return Fraction(candidate * 100, den)
    return Fraction(candidate) * 100 / iv.exact(den)
