"""Evaluation: pure functions from (plan, profile, year) to an :class:`Evaluation`.

Nothing here keeps state between calls. The parameter values in force for the year are looked up
first (a year without a needed value is refused, never filled with the last value); then the
compiled plan runs once over the profile (:mod:`policy_kb.backends.trace`), and the results are
read off its record: each benefit's status and missing facts, each measure's status, the
pre-check, the amounts and the benefits that cannot be combined.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any, TypeVar, overload

from ..backends.trace import Plan, Record, Trace, unknown_facts
from ..errors import UnknownNameError, YearError
from ..policy.model import (
    PRECHECK,
    STATUS_OF,
    YEAR_RANGE,
    Audience,
    Benefit,
    FactType,
    Measure,
    ParameterValue,
    PolicyModel,
    Status,
)
from ..policy.profile import Profile
from ..rules import interval as iv
from ..rules.tree import Best, Estimate, EstimateCase, ParamRef, Score
from ..rules.walk import exact_number, facts_in, facts_of, parameters_in, value_of
from ..text import Msg, Words, close_matches
from .changes import smallest_changes
from .results import (
    BenefitResult,
    Change,
    EstimateResult,
    Evaluation,
    IndicatorScore,
    MeasureResult,
    PrecheckResult,
    SourceScore,
    TownEvaluation,
    TownMeasureResult,
)

E = TypeVar("E", bound=Evaluation)
_STATUS = STATUS_OF
_TRI = {status: outcome for outcome, status in _STATUS.items()}
_FEN = Decimal("0.01")


def resolve_year(model: PolicyModel, profile: Profile, year: int | None) -> int:
    """The evaluation year: the one asked for, else the profile's year fact, else the policy year."""
    if year is None:
        fact = model.fact_of_type(FactType.YEAR)
        given = profile.get(fact) if fact else None
        return int(given) if given is not None else model.document.year
    return check_year(model, year)


def check_year(model: PolicyModel, year: object) -> int:
    """``year`` if it is a whole number within :data:`YEAR_RANGE` (as a profile's year fact
    must be); :class:`YearError` otherwise."""
    if isinstance(year, bool) or not isinstance(year, int):
        raise YearError(None, Msg("year.not_whole", example=model.document.year, got=repr(year)))
    low, high = YEAR_RANGE
    if not low <= year <= high:  # year 0 or 10**20 reached the date library: "unexpected error"
        raise YearError(year, Msg("year.out_of_range", got=year, low=low, high=high))
    return year


def parameters_for_year(model: PolicyModel, year: int) -> dict[str, ParameterValue]:
    """The parameter values in force in ``year``; :class:`YearError` when a condition needs one that is not."""
    check_year(model, year)
    values: dict[str, ParameterValue] = {}
    gaps: list[Msg] = []
    for name, param in model.parameters.items():
        value = param.value_for_year(year)
        if value is not None:
            values[name] = value
        elif name in model.condition_parameters:
            spans = Words(
                [
                    Msg("year.span_until", start=v.start.year, end=v.end.year)
                    if v.end
                    else Msg("year.span_on", start=v.start.year)
                    for v in param.values
                ]
            )
            gaps.append(Msg("year.gap", name=name, label=param.label, spans=spans))
    if gaps:
        raise YearError(
            year,
            Msg(
                "year.no_value",
                year=year,
                gaps=Words(gaps, "semi"),
                policy_year=model.document.year,
            ),
        )
    return values


@overload
def evaluate_profile(
    plan: Plan,
    profile: Profile,
    year: int,
    parameters: Mapping[str, ParameterValue],
    decided: Mapping[str, Status] | None = None,
    engine: str = "fast",
) -> Evaluation: ...


@overload
def evaluate_profile(
    plan: Plan,
    profile: Profile,
    year: int,
    parameters: Mapping[str, ParameterValue],
    decided: Mapping[str, Status] | None,
    engine: str,
    result_type: type[E],
) -> E: ...


def evaluate_profile(
    plan: Plan,
    profile: Profile,
    year: int,
    parameters: Mapping[str, ParameterValue],
    decided: Mapping[str, Status] | None = None,
    engine: str = "fast",
    result_type: type[Evaluation] = Evaluation,
) -> Evaluation:
    """Evaluate every measure and benefit for one validated profile (a pure function).

    ``decided`` gives the statuses found by another engine (the OWL reasoner), of the benefits and
    of the pre-check (``tech_sme_precheck``); the records, amounts and explanations are then
    written for those statuses.
    """
    model = plan.model
    record = Record(plan, plan.run(profile.values, parameters), profile.values)
    measures = tuple(_measure(record, m, decided) for m in model.measures)
    statuses = {b.id: b.status for m in measures for b in m.benefits}
    precheck = _precheck(record, parameters, decided)
    table = plan.per_parameters(parameters)  # what the year's parameters alone decide
    estimates = {
        b.id: _estimate(record, b, statuses[b.id], parameters, table)
        for b in model.benefits.values()
    }
    _exclusions(model, estimates, statuses)
    town_fact = model.fact_of_type(FactType.TOWN)
    town_name = profile.get(town_fact) if town_fact else None
    town = model.targets.town(town_name) if model.targets and town_name else None
    derived = {name: record.fact_value(name) for name in model.derived}
    return result_type(
        model,
        profile,
        year,
        dict(parameters),
        derived,
        measures,
        town,
        precheck,
        estimates,
        engine,
        record,
        lambda: _once_registered(record, measures, precheck),
    )


def _measure(
    record: Record, measure: Measure, decided: Mapping[str, Status] | None
) -> MeasureResult:
    benefits = tuple([_benefit(record, b, decided) for b in measure.benefits])
    for_enterprises = bool(benefits) or measure.audience is Audience.ENTERPRISES
    undetermined = []
    for b in benefits:
        if b.status is Status.APPLIES:
            return MeasureResult(measure, Status.APPLIES, benefits, (), for_enterprises)
        if b.status is Status.UNDETERMINED:
            undetermined.append(b)
    if not undetermined:
        return MeasureResult(measure, Status.DOES_NOT_APPLY, benefits, (), for_enterprises)
    missing = tuple(dict.fromkeys(f for b in undetermined for f in b.missing))
    return MeasureResult(measure, Status.UNDETERMINED, benefits, missing, for_enterprises)


def _benefit(
    record: Record, benefit: Benefit, decided: Mapping[str, Status] | None
) -> BenefitResult:
    outcome = record.v[record.plan.benefits[benefit.id]]
    status = _STATUS[outcome] if decided is None else decided[benefit.id]
    trace = Trace(benefit.condition, record)
    if status is not Status.UNDETERMINED:
        return BenefitResult(benefit, status, trace, ())
    if outcome is None:
        return BenefitResult(
            benefit, status, trace, tuple(unknown_facts(benefit.condition, record))
        )
    # another engine left open what this one decided: every unknown fact may matter
    facts = facts_of(
        benefit.condition, {k: c.condition for k, c in record.plan.model.categories.items()}
    )
    return BenefitResult(
        benefit, status, trace, tuple(f for f in facts if record.values.get(f) is None)
    )


# ── the pre-check ────────────────────────────────────────────────────────────────────────────


def _precheck(
    record: Record,
    parameters: Mapping[str, ParameterValue],
    decided: Mapping[str, Status] | None = None,
) -> PrecheckResult | None:
    method = record.plan.model.evaluation
    if method is None:
        return None
    v = record.v
    qualifies = v[record.plan.qualifies] if record.plan.qualifies is not None else None
    if decided is not None and PRECHECK in decided:
        qualifies = _TRI[decided[PRECHECK]]
    basic_ok, direct_ok = record.of(method.basic_rule), record.of(method.direct_rule)
    score_ok = record.of(method.score_rule)
    route = ("direct" if direct_ok is True else "score") if qualifies is True else None
    missing = tuple(unknown_facts(method.rule, record)) if qualifies is None else ()
    fails_on_score = qualifies is False and basic_ok is True and direct_ok is False

    def explain() -> tuple[tuple[IndicatorScore, ...], tuple[Change, ...]]:
        indicators = tuple(indicator_score(record, i) for i in method.indicators)
        return indicators, smallest_changes(record, method) if fails_on_score else ()

    pass_value = parameters[method.pass_score].value
    assert pass_value is not None
    return PrecheckResult(
        method,
        qualifies,
        route,
        tuple((n, record.trace(n.condition)) for n in method.basic),
        tuple((n, record.trace(n.condition)) for n in method.direct),
        tuple(v[s] for s in record.plan.indicator_slots),
        pass_value,
        score_ok,
        missing,
        basic_ok,
        direct_ok,
        explain,
        record.of(method.total),
    )


def indicator_score(record: Record, indicator: Best) -> IndicatorScore:
    low, high = record.of(indicator)
    return IndicatorScore(indicator, low, high, tuple(_source(record, s) for s in indicator.parts))


def _source(record: Record, source: Score) -> SourceScore:
    low, high = record.of(source)
    n = record.of(source.numerator)
    # what a way of scoring reads is the policy's: worked out once per plan
    reads: tuple[str, ...] = record.plan.keep(("facts of", id(source)), facts_in, source)
    unknown = tuple(f for f in reads if record.values.get(f) is None)
    if source.denominator is None:
        measured = Fraction(n[0]) if n[0] == n[1] else None
        return SourceScore(source, True, _exact(measured), low, high, unknown)
    d = record.of(source.denominator)
    if d[1] == 0:
        return SourceScore(source, False, None, 0, 0, unknown)
    measured = None
    if n[0] == n[1] and d[0] == d[1]:
        measured = _ratio(n[0], d[0])
    return SourceScore(source, True, measured, low, high, unknown)


def _exact(value: Any) -> Fraction | None:
    if value is None or isinstance(value, Fraction):
        return value
    return iv.exact(value)


def _ratio(num: Any, den: Any) -> Fraction:
    if type(num) is int and type(den) is int:
        return Fraction(num * 100, den)
    n, d = _exact(num), _exact(den)
    assert n is not None
    assert d is not None
    return n * 100 / d


# ── amounts ──────────────────────────────────────────────────────────────────────────────────


def _estimate(
    record: Record,
    benefit: Benefit,
    status: Status,
    parameters: Mapping[str, ParameterValue],
    table: dict[Any, Any],
) -> EstimateResult:
    """The amount of one benefit; ``table`` is the plan's table for ``parameters``
    (:meth:`Plan.per_parameters`)."""
    spec = benefit.estimate
    if spec is None:
        return _settled(table, benefit, "no_formula")
    if status is Status.DOES_NOT_APPLY:
        return _settled(table, benefit, "does_not_apply")
    lacking = _missing_parameter(table, parameters, spec)
    if lacking is not None:  # its steps would compute with nothing: said, as a case's gap is
        return EstimateResult(
            benefit.id,
            spec.kind,
            None,
            lacking[0].formula_text,
            {},
            "no_parameter",
            parameter=lacking[1],
        )
    plan, v, values = record.plan, record.v, record.values
    compiled = plan.estimates[benefit.id]
    plan.run_estimate(v, benefit.id)
    for k, (when, formula) in enumerate(compiled.cases):
        case = spec.cases[k]
        if when is not None:
            if v[when] is False:
                continue
            if v[when] is None:
                missing = _open_cases_need(
                    record, spec.cases[k:], plan.estimates[benefit.id].cases[k:]
                )
                return EstimateResult(
                    benefit.id, spec.kind, None, case.formula_text, {}, "missing_inputs", missing
                )
        gap, given = _parameter_inputs(table, parameters, case, compiled.reads[k][1])
        if gap is not None:
            return EstimateResult(
                benefit.id,
                spec.kind,
                None,
                case.formula_text,
                {},
                "no_parameter",
                parameter=gap,
            )
        inputs: dict[str, Any] = {f: values.get(f) for f in compiled.reads[k][0]}
        inputs.update(given)
        lo, hi = v[formula]
        if lo != hi:
            unknown = tuple(unknown_facts(case.formula, record))
            return EstimateResult(
                benefit.id, spec.kind, None, case.formula_text, inputs, "missing_inputs", unknown
            )
        amount = Decimal(lo).quantize(_FEN, rounding=ROUND_HALF_UP)
        return EstimateResult(
            benefit.id,
            spec.kind,
            amount,
            case.formula_text,
            inputs,
            None,
            conditional=status is Status.UNDETERMINED,
            case=k,
        )
    return EstimateResult(benefit.id, spec.kind, None, None, {}, "no_case")


def _settled(table: dict[Any, Any], benefit: Benefit, reason: str) -> EstimateResult:
    """The same answer for every profile (no formula, or a benefit that does not apply), made
    once per year's table: results are frozen, so one instance serves every evaluation."""
    found = table.get((reason, benefit.id))
    if found is None:
        kind = benefit.estimate.kind if benefit.estimate is not None else None
        found = table[(reason, benefit.id)] = EstimateResult(
            benefit.id, kind, None, None, {}, reason
        )
    return found


def _missing_parameter(
    table: dict[Any, Any], parameters: Mapping[str, ParameterValue], spec: Estimate
) -> tuple[EstimateCase, str] | None:
    """The first case of an estimate reading a parameter (in its ``when`` or its formula) that
    has no value in the year, with that parameter; None when every one has a value (worked out
    once per year's table). A value that ends before the year's last day leaves such a gap."""
    key = ("estimate gap", id(spec))
    if key not in table:
        table[key] = next(
            (
                (case, gap)
                for case in spec.cases
                for gap in (*parameters_in(case.when or case.formula), *case.parameters)
                if parameters.get(gap) is None
            ),
            None,
        )
    found: tuple[EstimateCase, str] | None = table[key]
    return found


def _parameter_inputs(
    table: dict[Any, Any],
    parameters: Mapping[str, ParameterValue],
    case: EstimateCase,
    refs: Sequence[ParamRef],
) -> tuple[str | None, dict[str, Any]]:
    """The first parameter of a formula without a value in the year (or None), and the
    parameters as the formula reads them (15 % as 0.15): worked out once per year's table."""
    key = ("estimate inputs", id(case))
    found = table.get(key)
    if found is None:
        gap = next((p for p in case.parameters if parameters.get(p) is None), None)
        values = {p: parameters[p].value for p in case.parameters} if gap is None else {}
        given = (
            {n.name: value_of(n, values, number=exact_number) for n in refs} if gap is None else {}
        )
        found = table[key] = (gap, given)
    return found


def _open_cases_need(
    record: Record, cases: Sequence[EstimateCase], slots: Sequence[tuple[int | None, int]]
) -> tuple[str, ...]:
    """The unknown facts that decide which case gives the amount, and that amount: the first case's
    open ``when`` and formula, and those of every later case that may still be the one."""
    found: dict[str, None] = {}
    for case, (when, _) in zip(cases, slots, strict=True):
        if when is not None and record.v[when] is False:
            continue
        for node in (case.when, case.formula):
            if node is not None:
                found.update(dict.fromkeys(unknown_facts(node, record)))
        if when is None or record.v[when] is True:
            break  # this case holds for sure: no later case is reached
    return tuple(found)


def _exclusions(
    model: PolicyModel, results: dict[str, EstimateResult], statuses: Mapping[str, Status]
) -> None:
    """Benefits that cannot be taken together: both say so, and only the larger amount counts."""
    from dataclasses import replace

    for rule in model.exclusions:
        a, b = results[rule.first], results[rule.second]
        if (
            statuses[rule.first] is not Status.APPLIES
            or statuses[rule.second] is not Status.APPLIES
        ):
            continue
        a = replace(a, conflicts_with=(*a.conflicts_with, rule.second))
        b = replace(b, conflicts_with=(*b.conflicts_with, rule.first))
        if a.amount is not None and b.amount is not None:
            if rule.first_counts(a.amount, b.amount):
                b = replace(b, counted=False)
            else:
                a = replace(a, counted=False)
        results[rule.first], results[rule.second] = a, b


def _once_registered(
    record: Record, measures: tuple[MeasureResult, ...], precheck: PrecheckResult | None
) -> frozenset[str]:
    """Undetermined benefits that would apply once the evaluation's fact (the registration) holds."""
    method = record.plan.model.evaluation
    fact = method.establishes if method is not None else None
    if (
        precheck is None
        or fact is None
        or precheck.qualifies is not True
        or record.values.get(fact) is not None
    ):
        return frozenset()
    w = record.plan.what_if(record.v, record.values, fact, True)
    return frozenset(
        b.id
        for m in measures
        for b in m.benefits
        if b.status is Status.UNDETERMINED
        and fact in b.missing
        and w[record.plan.benefits[b.id]] is True
    )


# ── a town ───────────────────────────────────────────────────────────────────────────────────


def evaluate_town(model: PolicyModel, name: str) -> TownEvaluation:
    """The measures addressed to one town or development zone of 附件2.

    Measures addressed to towns apply to every one of them, and carry the town's target when
    they refer to the target table (SM2 and 附件2); the others do not apply to a town.
    """
    town = model.targets.town(name) if model.targets else None
    if town is None or model.targets is None:
        towns = model.targets.towns if model.targets else ()
        names = [t.name for t in towns] + [t.name_en for t in towns if t.name_en]
        raise UnknownNameError("town", name, close_matches(name, names))
    results = []
    for measure in model.measures:
        applies = measure.audience is Audience.TOWNS_AND_ZONES
        target = town.target if applies and measure.targets == model.targets.annex else None
        results.append(
            TownMeasureResult(measure, Status.APPLIES if applies else Status.DOES_NOT_APPLY, target)
        )
    return TownEvaluation(model, town, tuple(results))
