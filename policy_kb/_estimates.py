"""What a benefit is worth: estimates from the formulas in measures.yaml, exact to the fen.

A benefit's ``estimate`` gives a kind (``cash``, ``tax_saving``, ``deduction``) and a formula over
profile facts and dated parameters, or a list of cases chosen by a condition (the first that
holds). Formulas are evaluated in exact decimal arithmetic — 25 % − 15 % is exactly 10 % — and
the amount is rounded to the fen (0.01 yuan, half up) only at the end.

A benefit without a formula, one that does not apply, or one whose inputs are unknown gets no
amount, and the result says why. Benefits that cannot be taken together (``not_combinable_with``)
are flagged, and a total counts only the better one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ._conditions import Context, missing_facts
from ._model import Benefit, ParameterValue, PolicyModel, Status
from ._numbers import decimal, to_fen


@dataclass(frozen=True, slots=True)
class EstimateResult:
    """The estimated value of one benefit for one profile (``amount`` None: see ``reason``)."""

    benefit_id: str
    kind: str | None
    amount: Decimal | None
    formula: str | None
    inputs: Mapping[str, Any]
    reason: str | None  # a code: no_formula, does_not_apply, missing_inputs, no_parameter, no_case
    missing: tuple[str, ...] = ()
    parameter: str | None = None
    conditional: bool = False  # computed for a benefit that is still undetermined
    conflicts_with: tuple[str, ...] = ()
    counted: bool = True  # counted in the totals (False: excluded as the lesser of two)


def estimate_benefit(
    model: PolicyModel,
    benefit: Benefit,
    status: Status,
    values: Mapping[str, Any],
    ctx: Context,
    parameters: Mapping[str, ParameterValue],
) -> EstimateResult:
    """The estimate of one benefit, given its status and the profile's values."""
    spec = benefit.estimate
    if spec is None:
        return EstimateResult(benefit.id, None, None, None, {}, "no_formula")
    if status is Status.DOES_NOT_APPLY:
        return EstimateResult(benefit.id, spec.kind, None, None, {}, "does_not_apply")
    for case in spec.cases:
        if case.when is not None:
            trace = case.when.evaluate(ctx)
            if trace.outcome is False:
                continue
            if trace.outcome is None:
                return EstimateResult(
                    benefit.id,
                    spec.kind,
                    None,
                    case.formula_text,
                    {},
                    "missing_inputs",
                    tuple(missing_facts(trace)),
                )
        gaps = [p for p in case.parameters if parameters.get(p) is None]
        if gaps:
            return EstimateResult(
                benefit.id,
                spec.kind,
                None,
                case.formula_text,
                {},
                "no_parameter",
                parameter=gaps[0],
            )
        exact_params = {p: decimal(parameters[p].value) for p in case.parameters}
        facts = case.facts
        unknown = tuple(f for f in facts if values.get(f) is None)
        inputs: dict[str, Any] = {f: values.get(f) for f in facts}
        # parameters as the arithmetic reads them: a percentage as a fraction (25 % → 0.25)
        inputs.update(
            {p: v / 100 if model.parameters[p].unit == "%" else v for p, v in exact_params.items()}
        )
        if unknown:
            return EstimateResult(
                benefit.id, spec.kind, None, case.formula_text, inputs, "missing_inputs", unknown
            )
        exact_values = {f: decimal(values[f]) for f in facts}
        amount = case.formula.value(Context(exact_values, exact_params, {}))
        rounded = to_fen(decimal(amount))
        return EstimateResult(
            benefit.id,
            spec.kind,
            rounded,
            case.formula_text,
            inputs,
            None,
            conditional=status is Status.UNDETERMINED,
        )
    return EstimateResult(benefit.id, spec.kind, None, None, {}, "no_case")


def resolve_conflicts(
    model: PolicyModel, results: dict[str, EstimateResult], statuses: Mapping[str, Status]
) -> None:
    """Mark benefits that cannot be taken together; only the larger applicable amount is counted."""
    for benefit in model.benefits.values():
        for other in benefit.not_combinable_with:
            a, b = results.get(benefit.id), results.get(other)
            if a is None or b is None:
                continue
            both_apply = (
                statuses[benefit.id] is Status.APPLIES and statuses[other] is Status.APPLIES
            )
            if not both_apply:
                continue
            results[a.benefit_id] = _with(a, conflicts_with=(*a.conflicts_with, other))
            results[b.benefit_id] = _with(b, conflicts_with=(*b.conflicts_with, benefit.id))
            if a.amount is None or b.amount is None:
                continue
            loser = b if a.amount >= b.amount else a
            results[loser.benefit_id] = _with(results[loser.benefit_id], counted=False)


def _with(result: EstimateResult, **changes: Any) -> EstimateResult:
    fields = {name: getattr(result, name) for name in EstimateResult.__dataclass_fields__}
    fields.update(changes)
    return EstimateResult(**fields)


def totals(
    results: Mapping[str, EstimateResult], statuses: Mapping[str, Status]
) -> dict[str, Decimal]:
    """The total estimated value of the applicable benefits, by kind."""
    out: dict[str, Decimal] = {}
    for result in results.values():
        if (
            result.amount is None
            or not result.counted
            or statuses[result.benefit_id] is not Status.APPLIES
        ):
            continue
        assert result.kind is not None
        out[result.kind] = out.get(result.kind, Decimal(0)) + result.amount
    return out
