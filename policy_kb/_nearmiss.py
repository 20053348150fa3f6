"""What would change the answer: the gap of each failing condition, and which facts to supply.

Both are read off the evaluation records: a benefit that does not apply lists its failing
conditions with the distance to the bound in the fact's own unit ("150,000 < 200,000: 50,000
short"); an undetermined answer lists the missing facts, those that would settle the most answers
first.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from ._conditions import AnyOf, Comparison, FactRef, Flag, NotOf, Trace
from ._explain import format_value, leaf_sentence, trace_sentence
from ._model import PolicyModel, Status
from ._numbers import exact

if TYPE_CHECKING:
    from ._results import BenefitResult, Evaluation


@dataclass(frozen=True, slots=True)
class Gap:
    """One failing condition and how far the profile is from meeting it."""

    trace: Trace
    fact: str | None
    value: Any
    threshold: Any
    operator: str
    gap: (
        Fraction | None
    )  # how much the fact must rise (short) or fall (over); None for a yes/no fact
    direction: str  # "short", "over" or "flag"
    alternatives: bool  # one of several alternatives (an ``any:`` group), not required alone


#: the smallest change that counts against a strict bound: one yuan, one person, one item
_STEP = Fraction(1)


def gaps(result: BenefitResult) -> list[Gap]:
    """The failing conditions of a benefit that does not apply, with their gaps."""
    if result.status is not Status.DOES_NOT_APPLY:
        return []
    return list(_failing(result.trace, alternatives=False))


def _failing(trace: Trace, *, alternatives: bool) -> Iterator[Gap]:
    cond = trace.condition
    if trace.outcome is not False:
        return
    if isinstance(cond, Flag):
        yield Gap(
            trace,
            cond.fact,
            trace.facts.get(cond.fact),
            cond.expected,
            "is",
            None,
            "flag",
            alternatives,
        )
        return
    if isinstance(cond, Comparison):
        yield _comparison_gap(trace, cond, alternatives)
        return
    if isinstance(cond, NotOf):
        inner = trace.parts[0]
        yield Gap(inner, None, None, None, "not", None, "flag", alternatives)
        return
    within_any = isinstance(cond, AnyOf)
    for part in trace.parts:
        yield from _failing(part, alternatives=alternatives or within_any)


def _comparison_gap(trace: Trace, cond: Comparison, alternatives: bool) -> Gap:
    subject = cond.left if isinstance(cond.left, FactRef) else None
    fact = subject.name if subject else None
    value = trace.facts.get(fact) if fact else None
    threshold = trace.threshold
    op = cond.op
    gap: Fraction | None = None
    direction = "flag"
    if (
        isinstance(value, (int, float))
        and isinstance(threshold, (int, float))
        and not isinstance(value, bool)
    ):
        v, t = exact(value), exact(threshold)
        if op in (">=", ">"):
            direction = "short"
            gap = t - v + (_STEP if op == ">" else 0)
        elif op in ("<=", "<"):
            direction = "over"
            gap = v - t + (_STEP if op == "<" else 0)
    return Gap(trace, fact, value, threshold, op, gap, direction, alternatives)


@dataclass(frozen=True, slots=True)
class Supply:
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
            where.setdefault(fact, []).append("tech_sme_precheck")
    order = {fact: i for i, fact in enumerate(where)}
    ranked = sorted(where, key=lambda f: (-len(where[f]), order[f]))
    return [Supply(f, tuple(where[f])) for f in ranked]


def gap_sentence(gap: Gap, model: PolicyModel, lang: str) -> str:
    """A gap, said: ``研发费用年度增长额 150,000 元，需 ≥ 200,000 元：差 50,000 元``."""
    zh = lang != "en"
    if gap.direction == "flag":
        return (
            trace_sentence(gap.trace, model, lang)
            if gap.operator == "not"
            else leaf_sentence(gap.trace, model, lang)
        )
    unit = model.fact_unit(gap.fact) if gap.fact else None
    label = model.fact_label(gap.fact, lang) if gap.fact else gap.trace.condition.text
    value = format_value(gap.value, unit, lang)
    threshold = format_value(gap.threshold, unit, lang)
    amount = format_value(gap.gap, unit, lang)
    sym = {">=": "≥", ">": ">", "<=": "≤", "<": "<"}[gap.operator]
    if zh:
        word = "差" if gap.direction == "short" else "超出"
        return f"{label} {value}，需 {sym} {threshold}：{word} {amount}"
    rel = "<" if gap.direction == "short" else ">"
    word = "short" if gap.direction == "short" else "over"
    return f"{label} {value} {rel} {threshold}: {amount} {word}"
