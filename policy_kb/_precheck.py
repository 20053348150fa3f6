"""The tech-SME evaluation pre-check (科技型中小企业评价, 国科发政〔2017〕115号), from data.

The method — basic conditions, direct routes, scored indicators, the pass mark — lives in
measures.yaml (``tech_sme_evaluation`` and its score-table parameters). This module evaluates it
for one profile in three-valued logic.

Unknown facts are handled as intervals: an indicator whose input is unknown scores somewhere
between its lowest and highest possible points, and the verdict is unknown only when the answer
differs across that range. A ratio whose denominator is 0 does not count; one whose denominator is
unknown does not count either when another way of scoring the same indicator can be computed.

Ratios are compared with the tier bounds exactly (rational arithmetic), so 10 of 100 staff is
exactly 10 %, never 9.999…%.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ._conditions import Context, Trace, Tri, missing_facts
from ._model import EvaluationMethod, Indicator, NamedCondition, ParameterValue, ScoreSource
from ._numbers import exact


@dataclass(frozen=True, slots=True)
class SourceScore:
    """One way of scoring an indicator, for one profile."""

    source: ScoreSource
    counts: bool
    measured: Fraction | None  # the percentage (ratio) or the count; None when unknown
    low: int
    high: int
    unknown: tuple[str, ...]  # the inputs that are unknown


@dataclass(frozen=True, slots=True)
class IndicatorScore:
    """An indicator's points: exact when ``low == high``, else the range still possible."""

    indicator: Indicator
    low: int
    high: int
    sources: tuple[SourceScore, ...]

    @property
    def points(self) -> int | None:
        return self.low if self.low == self.high else None

    def unknown_facts(self) -> tuple[str, ...]:
        if self.points is not None:
            return ()
        return tuple(dict.fromkeys(f for s in self.sources if s.counts for f in s.unknown))


@dataclass(frozen=True, slots=True)
class Change:
    """A single change to one fact that would make the enterprise qualify."""

    fact: str
    current: Any
    new: Any
    indicator: str
    measured: Fraction
    points: int
    score: int

    @property
    def delta(self) -> Any:
        return self.new - self.current

    @property
    def relative(self) -> float:
        return float(self.delta) / max(abs(float(self.current)), 1.0)


@dataclass(frozen=True)
class PrecheckResult:
    """The pre-check's answer for one profile."""

    method: EvaluationMethod
    qualifies: Tri
    route: str | None
    basic: tuple[tuple[NamedCondition, Trace], ...]
    direct: tuple[tuple[NamedCondition, Trace], ...]
    indicators: tuple[IndicatorScore, ...]
    pass_score: int | float
    score_route: Tri
    missing: tuple[str, ...]
    changes: tuple[Change, ...]

    @property
    def basic_ok(self) -> Tri:
        return _all(t.outcome for _, t in self.basic)

    @property
    def direct_ok(self) -> Tri:
        return _any(t.outcome for _, t in self.direct)

    @property
    def score_low(self) -> int:
        return sum(i.low for i in self.indicators)

    @property
    def score_high(self) -> int:
        return sum(i.high for i in self.indicators)

    @property
    def score(self) -> int | None:
        return self.score_low if self.score_low == self.score_high else None

    @property
    def smallest_change(self) -> Change | None:
        return self.changes[0] if self.changes else None


def _all(values: Any) -> Tri:
    result: Tri = True
    for v in values:
        if v is False:
            return False
        if v is None:
            result = None
    return result


def _any(values: Any) -> Tri:
    result: Tri = False
    for v in values:
        if v is True:
            return True
        if v is None:
            result = None
    return result


def _table_points(table: ParameterValue, measured: Fraction) -> int:
    for tier in table.tiers:
        if measured >= exact(tier.at_least):
            return tier.points
    return 0


def _score_source(
    source: ScoreSource, values: Mapping[str, Any], table: ParameterValue
) -> SourceScore:
    top = max(t.points for t in table.tiers)
    num = values.get(source.numerator)
    if source.denominator is None:
        if num is None:
            return SourceScore(source, True, None, 0, top, (source.numerator,))
        measured = exact(num)
        points = _table_points(table, measured)
        return SourceScore(source, True, measured, points, points, ())
    den = values.get(source.denominator)
    if den is not None and den == 0:
        return SourceScore(source, False, None, 0, 0, ())
    unknown = tuple(f for f, v in ((source.numerator, num), (source.denominator, den)) if v is None)
    if unknown:
        return SourceScore(source, True, None, 0, top, unknown)
    if type(num) is int and type(den) is int and all(type(t.at_least) is int for t in table.tiers):
        # whole numbers: compare num / den ≥ bound % as num × 100 ≥ bound × den, exactly and fast
        points = next((t.points for t in table.tiers if num * 100 >= t.at_least * den), 0)
        return SourceScore(source, True, Fraction(num * 100, den), points, points, ())
    measured = exact(num) * 100 / exact(den)
    points = _table_points(table, measured)
    return SourceScore(source, True, measured, points, points, ())


def _score_indicator(
    indicator: Indicator, values: Mapping[str, Any], tables: Mapping[str, ParameterValue]
) -> IndicatorScore:
    scores = [_score_source(s, values, tables[s.tiers]) for s in indicator.sources]
    computed = any(s.counts and not s.unknown for s in scores)
    final = []
    for s in scores:
        denominator_unknown = s.source.denominator is not None and s.source.denominator in s.unknown
        numerator_known = s.source.numerator not in s.unknown
        if computed and denominator_unknown and numerator_known:
            s = SourceScore(
                s.source, False, None, 0, 0, s.unknown
            )  # does not count: another way can be computed
        final.append(s)
    counted = [s for s in final if s.counts]
    low = max((s.low for s in counted), default=0)
    high = max((s.high for s in counted), default=0)
    return IndicatorScore(indicator, low, high, tuple(final))


def run_precheck(
    method: EvaluationMethod,
    ctx: Context,
    params: Mapping[str, ParameterValue],
    limits: Mapping[str, float | str] | None = None,
) -> PrecheckResult:
    """Evaluate the pre-check for the profile in ``ctx``.

    With ``limits`` (each fact's maximum: a number or another fact, from the fact definitions),
    a failed verdict also looks for the smallest single change that would make it pass.
    """
    values = ctx.values
    basic = tuple((n, n.condition.evaluate(ctx)) for n in method.basic)
    direct = tuple((n, n.condition.evaluate(ctx)) for n in method.direct)
    indicators = tuple(_score_indicator(i, values, params) for i in method.indicators)
    pass_value = params[method.pass_score].value
    assert pass_value is not None
    score_route = _score_route(method, indicators, pass_value)
    b = _all(t.outcome for _, t in basic)
    d = _any(t.outcome for _, t in direct)
    either = _any((d, score_route))
    qualifies = _all((b, either))
    route = None
    if qualifies is True:
        route = "direct" if d is True else "score"
    missing: dict[str, None] = {}
    if qualifies is None:
        if b is None:
            for _, t in basic:
                for f in missing_facts(t):
                    missing.setdefault(f)
        if either is None:
            if d is None:
                for _, t in direct:
                    for f in missing_facts(t):
                        missing.setdefault(f)
            if score_route is None:
                for i in indicators:
                    for f in i.unknown_facts():
                        missing.setdefault(f)
    changes: tuple[Change, ...] = ()
    if limits is not None and qualifies is False and b is True and d is False:
        changes = _smallest_changes(method, ctx, params, limits)
    return PrecheckResult(
        method,
        qualifies,
        route,
        basic,
        direct,
        indicators,
        pass_value,
        score_route,
        tuple(missing),
        changes,
    )


def _score_route(
    method: EvaluationMethod, indicators: tuple[IndicatorScore, ...], pass_value: float
) -> Tri:
    low = sum(i.low for i in indicators)
    high = sum(i.high for i in indicators)
    nonzero = [i for i in indicators if i.indicator.id in method.nonzero]
    if low >= pass_value and all(i.low > 0 for i in nonzero):
        return True
    if high < pass_value or any(i.high == 0 for i in nonzero):
        return False
    return None


def _smallest_changes(
    method: EvaluationMethod,
    ctx: Context,
    params: Mapping[str, ParameterValue],
    limits: Mapping[str, float | str],
) -> tuple[Change, ...]:
    """For each scored fact, the least increase that alone makes the enterprise qualify."""
    values = ctx.values
    found: list[Change] = []
    facts = dict.fromkeys(s.numerator for i in method.indicators for s in i.sources)
    for fact in facts:
        current = values.get(fact)
        if current is None:
            continue
        for candidate in _candidate_values(method, fact, values, params):
            if candidate <= current or not _within(fact, candidate, values, limits):
                continue
            trial = {**values, fact: candidate}
            again = run_precheck(method, Context(trial, ctx.params, ctx.categories), params)
            if again.qualifies is True and again.score is not None:
                indicator = next(
                    i
                    for i in again.indicators
                    if any(s.source.numerator == fact for s in i.sources)
                )
                best = max(
                    (s for s in indicator.sources if s.counts and s.source.numerator == fact),
                    key=lambda s: s.low,
                )
                assert best.measured is not None
                found.append(
                    Change(
                        fact,
                        current,
                        candidate,
                        indicator.indicator.id,
                        best.measured,
                        indicator.low,
                        again.score,
                    )
                )
                break
    found.sort(key=lambda c: (c.relative, c.delta))
    return tuple(found)


def _candidate_values(
    method: EvaluationMethod,
    fact: str,
    values: Mapping[str, Any],
    params: Mapping[str, ParameterValue],
) -> list[Any]:
    """The least values of ``fact`` that reach each step of the tables it is scored against."""
    out: set[Any] = set()
    for indicator in method.indicators:
        for source in indicator.sources:
            if source.numerator != fact:
                continue
            for tier in params[source.tiers].tiers:
                bound = exact(tier.at_least)
                if source.denominator is None:
                    out.add(math.ceil(bound))
                    continue
                den = values.get(source.denominator)
                if den is None or den == 0:
                    continue
                out.add(math.ceil(bound * exact(den) / 100))
    return sorted(out)


def _within(
    fact: str, value: Any, values: Mapping[str, Any], limits: Mapping[str, float | str]
) -> bool:
    """A change must keep the profile valid (``max`` of the fact definitions, e.g. tech staff ≤ employees)."""
    limit = limits.get(fact)
    if isinstance(limit, str):
        limit = values.get(limit)
    return limit is None or value <= limit
