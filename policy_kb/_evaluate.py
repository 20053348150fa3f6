"""Evaluation: pure functions from (model, profile, year) to an :class:`Evaluation`.

Nothing here keeps state between calls. The parameter values in force for the year are looked
up first (a year without a needed value is refused, never filled with the last value); derived
facts are computed; then every benefit's conditions are evaluated in three-valued logic, and
each measure's status follows from its benefits (READING.md §3).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._conditions import Context, Trace, missing_facts
from ._errors import UnknownNameError, YearError
from ._estimates import estimate_benefit, resolve_conflicts
from ._model import Audience, ParameterValue, PolicyModel, Status
from ._precheck import PrecheckResult, run_precheck
from ._profile import Profile
from ._results import (
    BenefitResult,
    Evaluation,
    MeasureResult,
    TownEvaluation,
    TownMeasureResult,
)
from ._suggest import close_matches

_STATUS = {True: Status.APPLIES, False: Status.DOES_NOT_APPLY, None: Status.UNDETERMINED}


def resolve_year(model: PolicyModel, profile: Profile, year: int | None) -> int:
    """The evaluation year: the one asked for, else the profile's ``year``, else the policy year.

    A year asked for explicitly wins over the profile's ``year`` (the answer then says so).
    """
    if year is None:
        given = profile.get("year")
        return int(given) if given is not None else model.document.year
    if isinstance(year, bool) or not isinstance(year, int):
        raise YearError(
            0, f"year must be a whole number such as {model.document.year}, got {year!r}"
        )
    return year


def parameters_for_year(model: PolicyModel, year: int) -> dict[str, ParameterValue]:
    """The parameter values in force in ``year``.

    Raises :class:`YearError` when a parameter used by a condition has no value for the year.
    """
    values: dict[str, ParameterValue] = {}
    gaps: list[str] = []
    for name, param in model.parameters.items():
        value = param.value_for_year(year)
        if value is not None:
            values[name] = value
        elif name in model.condition_parameters:
            spans = ", ".join(
                f"{v.start.year}–{v.end.year if v.end else ''}".rstrip("–")
                + ("" if v.end else " onwards")
                for v in param.values
            )
            gaps.append(f"{name} ({param.label_zh}): in force {spans}")
    if gaps:
        raise YearError(
            year,
            f"no value is in force in {year} for "
            + "; ".join(gaps)
            + f". The policy year is {model.document.year}; add a dated value to measures.yaml to evaluate {year}.",
        )
    return values


def compute_derived(
    model: PolicyModel, values: Mapping[str, Any], params: Mapping[str, Any]
) -> dict[str, Any]:
    """The derived facts (``rd_expense_growth`` …) of a profile; unknown when an input is unknown."""
    ctx = Context(values, params, {})
    return {name: d.formula.value(ctx) for name, d in model.derived.items()}


def evaluate_profile(
    model: PolicyModel,
    profile: Profile,
    year: int,
    parameters: Mapping[str, ParameterValue],
    decided: Mapping[str, Status] | None = None,
    engine: str = "fast",
) -> Evaluation:
    """Evaluate every measure and benefit for one validated profile (a pure function).

    ``decided`` gives benefit statuses found by another engine (the OWL reasoner); the records,
    amounts and explanations are then written for those statuses.
    """
    params = {name: pv.value for name, pv in parameters.items() if pv.value is not None}
    derived = compute_derived(model, profile.values, params)
    values = {**profile.values, **derived} if derived else profile.values
    categories = {name: c.condition for name, c in model.categories.items()}
    ctx = Context(values, params, categories)
    measures = []
    for measure in model.measures:
        benefit_results = tuple(_benefit(b, ctx, decided) for b in measure.benefits)
        for_enterprises = bool(benefit_results) or measure.audience is Audience.ENTERPRISES
        status, missing = _measure_status(benefit_results)
        measures.append(MeasureResult(measure, status, benefit_results, missing, for_enterprises))
    town_name = profile.get("town")
    town = model.targets.town(town_name) if model.targets and town_name else None

    precheck = None
    if model.evaluation is not None:
        limits = {f.id: f.maximum for f in model.facts.values() if f.maximum is not None}
        precheck = run_precheck(model.evaluation, ctx, parameters, limits)
    statuses = {b.id: b.status for m in measures for b in m.benefits}
    estimates = {
        b.id: estimate_benefit(model, b.benefit, b.status, values, ctx, parameters)
        for m in measures
        for b in m.benefits
    }
    resolve_conflicts(model, estimates, statuses)
    once_registered = _once_registered(measures, precheck, values, ctx)
    return Evaluation(
        model,
        profile,
        year,
        dict(parameters),
        derived,
        tuple(measures),
        town,
        precheck,
        estimates,
        once_registered,
        engine,
    )


_REGISTERED = "tech_sme_registered"


def _once_registered(
    measures: list[MeasureResult],
    precheck: PrecheckResult | None,
    values: Mapping[str, Any],
    ctx: Context,
) -> frozenset[str]:
    """Undetermined benefits that would apply once registered, when the pre-check says it qualifies."""
    if precheck is None or precheck.qualifies is not True or values.get(_REGISTERED) is not None:
        return frozenset()
    registered = Context({**values, _REGISTERED: True}, ctx.params, ctx.categories)
    found = set()
    for m in measures:
        for b in m.benefits:
            if (
                b.status is Status.UNDETERMINED
                and _REGISTERED in b.missing
                and b.benefit.condition.evaluate(registered).outcome is True
            ):
                found.add(b.id)
    return frozenset(found)


def _benefit(benefit: Any, ctx: Context, decided: Mapping[str, Status] | None) -> BenefitResult:
    trace: Trace = benefit.condition.evaluate(ctx)
    status = _STATUS[trace.outcome] if decided is None else decided[benefit.id]
    if status is not Status.UNDETERMINED:
        missing: tuple[str, ...] = ()
    elif trace.outcome is None:
        missing = tuple(missing_facts(trace))
    else:  # another engine left open what this one decided: every unknown fact may matter
        missing = tuple(f for f in dict.fromkeys(_base_facts(trace)) if ctx.values.get(f) is None)
    return BenefitResult(benefit, status, trace, missing)


def _base_facts(trace: Trace) -> list[str]:
    if trace.condition.is_leaf:
        return list(trace.condition.base_facts())
    return [f for part in trace.parts for f in _base_facts(part)]


def _measure_status(benefits: tuple[BenefitResult, ...]) -> tuple[Status, tuple[str, ...]]:
    """applies if one benefit applies; does_not_apply if all do not (or none is for enterprises)."""
    if any(b.status is Status.APPLIES for b in benefits):
        return Status.APPLIES, ()
    undetermined = [b for b in benefits if b.status is Status.UNDETERMINED]
    if not undetermined:
        return Status.DOES_NOT_APPLY, ()
    missing: dict[str, None] = {}
    for b in undetermined:
        for fact in b.missing:
            missing.setdefault(fact)
    return Status.UNDETERMINED, tuple(missing)


def evaluate_town(model: PolicyModel, name: str) -> TownEvaluation:
    """The measures addressed to one town or development zone of 附件2.

    Measures addressed to towns apply to every one of them, and carry the town's target when
    they refer to the target table (SM2 and 附件2); the others do not apply to a town.
    """
    town = model.targets.town(name) if model.targets else None
    if town is None or model.targets is None:
        names = [t.name for t in model.targets.towns] if model.targets else []
        raise UnknownNameError("town", name, close_matches(name, names))
    results = []
    for measure in model.measures:
        applies = measure.audience is Audience.TOWNS_AND_ZONES
        target = town.target if applies and measure.targets == model.targets.annex else None
        results.append(
            TownMeasureResult(measure, Status.APPLIES if applies else Status.DOES_NOT_APPLY, target)
        )
    return TownEvaluation(model, town, tuple(results))
