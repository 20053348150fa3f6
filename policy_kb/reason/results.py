"""What an evaluation returns: one status per measure and benefit, with the record behind it.

These objects are plain data: the single explanation of an answer. The table, the JSON document
and the sentences in Chinese or English are views of them (:mod:`policy_kb.views`); results never
import a view. Conditions are read through :class:`~policy_kb.backends.trace.Trace`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from functools import cached_property
from typing import Any

from ..backends.trace import Record, Trace
from ..errors import UnknownNameError
from ..policy.model import (
    Benefit,
    EvaluationMethod,
    Measure,
    NamedCondition,
    ParameterValue,
    PolicyModel,
    Status,
    Town,
)
from ..policy.profile import Profile
from ..records import Valued
from ..rules.interval import Tri
from ..rules.tree import Best, Score
from ..text import Msg, close_matches


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class BenefitResult(Valued):
    """The answer for one benefit: its status, the record of every condition, what is missing."""

    benefit: Benefit
    status: Status
    trace: Trace
    missing: tuple[str, ...]

    @property
    def id(self) -> str:
        return self.benefit.id


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class MeasureResult(Valued):
    """The answer for one measure: applies when a benefit applies, refused when all are."""

    measure: Measure
    status: Status
    benefits: tuple[BenefitResult, ...]
    missing: tuple[str, ...]
    addressed_to_enterprises: bool

    @property
    def id(self) -> str:
        return self.measure.id


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class EstimateResult(Valued):
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
    case: int | None = None  # which case of the estimate gave the amount


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class SourceScore(Valued):
    """One way of scoring an indicator, for one profile."""

    source: Score
    counts: bool  # False: the denominator is 0, so this way does not count
    measured: Fraction | None  # the percentage (ratio) or the count; None when unknown
    low: int
    high: int
    unknown: tuple[str, ...]  # the inputs that are unknown


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class IndicatorScore(Valued):
    """An indicator's points: exact when ``low == high``, else the range still possible."""

    indicator: Best
    low: int
    high: int
    sources: tuple[SourceScore, ...]

    @property
    def points(self) -> int | None:
        return self.low if self.low == self.high else None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Change(Valued):
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


@dataclass(frozen=True, eq=False, repr=False)
class PrecheckResult(Valued):
    """The pre-check's answer for one profile.

    The verdict, the route and the score bounds are read off the record at once; the indicators'
    detail (each way of scoring, measured exactly) and the smallest changes are worked out from
    the same record on first use, since most answers never show them.
    """

    method: EvaluationMethod
    qualifies: Tri
    route: str | None
    basic: tuple[tuple[NamedCondition, Trace], ...]
    direct: tuple[tuple[NamedCondition, Trace], ...]
    bounds: tuple[tuple[int, int], ...]  # each indicator's (low, high) points
    pass_score: int | float
    score_route: Tri
    missing: tuple[str, ...]
    basic_ok: Tri = None
    direct_ok: Tri = None
    explain: Callable[[], tuple[tuple[IndicatorScore, ...], tuple[Change, ...]]] | None = field(
        default=None, repr=False, compare=False
    )
    total: tuple[int, int] | None = None  # the rule tree's total (the Total node), low and high

    @cached_property
    def _detail(self) -> tuple[tuple[IndicatorScore, ...], tuple[Change, ...]]:
        return self.explain() if self.explain is not None else ((), ())

    @property
    def indicators(self) -> tuple[IndicatorScore, ...]:
        """Each indicator's points with the ways of scoring it, in the order of measures.yaml."""
        return self._detail[0]

    @property
    def changes(self) -> tuple[Change, ...]:
        """The single changes that would make a profile that fails on its score qualify."""
        return self._detail[1]

    @property
    def score_low(self) -> int:
        """The least total the profile may score (the record's Total node)."""
        return self.total[0] if self.total is not None else sum(low for low, _ in self.bounds)

    @property
    def score_high(self) -> int:
        """The most total the profile may score (the record's Total node)."""
        return self.total[1] if self.total is not None else sum(high for _, high in self.bounds)

    @property
    def score(self) -> int | None:
        """The total score when the facts decide it, else None (see the bounds)."""
        return self.score_low if self.score_low == self.score_high else None

    @property
    def smallest_change(self) -> Change | None:
        return self.changes[0] if self.changes else None


@dataclass(frozen=True, eq=False, repr=False)
class Evaluation(Valued):
    """The answer for one enterprise profile in one year.

    ``status("KM7")`` or ``status("KM7.rd_growth_reward")`` gives a status word.
    """

    model: PolicyModel
    profile: Profile
    year: int
    parameters: Mapping[str, ParameterValue]
    derived: Mapping[str, Any]
    measures: tuple[MeasureResult, ...]
    town: Town | None
    precheck: PrecheckResult | None = None
    estimates: Mapping[str, EstimateResult] = field(default_factory=dict)
    engine: str = "fast"
    record: Record | None = None
    would_apply: Callable[[], frozenset[str]] | None = field(
        default=None, repr=False, compare=False
    )

    @cached_property
    def once_registered(self) -> frozenset[str]:
        """The undetermined benefits that would apply once the enterprise is registered (worked
        out from the record on first use)."""
        return self.would_apply() if self.would_apply is not None else frozenset()

    def measure(self, measure_id: str) -> MeasureResult:
        """The result of one measure (``"KM7"``)."""
        for m in self.measures:
            if m.id == measure_id:
                return m
        raise UnknownNameError(
            "measure", measure_id, close_matches(measure_id, [m.id for m in self.measures])
        )

    def benefit(self, benefit_id: str) -> BenefitResult:
        """The result of one benefit (``"KM7.rd_growth_reward"``)."""
        for m in self.measures:
            for b in m.benefits:
                if b.id == benefit_id:
                    return b
        known = [b.id for m in self.measures for b in m.benefits]
        raise UnknownNameError("benefit", benefit_id, close_matches(benefit_id, known))

    @cached_property
    def benefits(self) -> tuple[BenefitResult, ...]:
        """Every benefit result, in the order of measures.yaml."""
        return tuple(b for m in self.measures for b in m.benefits)

    def status(self, id_: str) -> Status:
        """The status of a measure (``"KM7"``) or benefit (``"KM7.rd_growth_reward"``)."""
        return self.benefit(id_).status if "." in id_ else self.measure(id_).status

    def statuses(self) -> dict[str, str]:
        """Every measure and benefit id with its status word."""
        out: dict[str, str] = {}
        for m in self.measures:
            out[m.id] = m.status.value
            for b in m.benefits:
                out[b.id] = b.status.value
        return out

    def estimate(self, benefit_id: str) -> EstimateResult:
        """The estimated value of one benefit (``amount`` None when there is none; see ``reason``)."""
        self.benefit(benefit_id)
        return self.estimates[benefit_id]

    def applicable(self) -> list[BenefitResult]:
        """The benefits that apply."""
        return [b for b in self.benefits if b.status is Status.APPLIES]

    def totals(self) -> dict[str, Decimal]:
        """The total estimated value of the applicable benefits, by kind (the lesser of two
        benefits that cannot be combined is not counted)."""
        out: dict[str, Decimal] = {}
        for result in self._counted():
            if result.amount is not None:
                assert result.kind is not None
                out[result.kind] = out.get(result.kind, Decimal(0)) + result.amount
        return out

    def notes(self) -> tuple[Msg, ...]:
        """What the answer must say about its year: the profile's data are for another year than
        the one evaluated (``--year`` won over the profile's ``year``), or the year evaluated is
        not the policy's own (every surface prints these: the table, both JSON details)."""
        notes = []
        data_year = self.profile.get("year")
        if data_year is not None and data_year != self.year:
            notes.append(Msg("note.data_year", data_year=data_year, year=self.year))
        if self.year != self.model.document.year:
            notes.append(
                Msg("note.other_year", policy_year=self.model.document.year, year=self.year)
            )
        return tuple(notes)

    def unknown_amounts(self) -> dict[str, int]:
        """How many benefits that apply have an amount that cannot be worked out (a fact it
        reads is unknown, or a parameter has no value that year), by kind: :meth:`totals` leaves
        them out, so with any of them a total is the least the enterprise may receive."""
        out: dict[str, int] = {}
        for result in self._counted():
            if result.amount is None and result.kind is not None:
                out[result.kind] = out.get(result.kind, 0) + 1
        return out

    def _counted(self) -> list[EstimateResult]:
        """The estimates a total counts: of the benefits that apply, all but the lesser of two
        that cannot be combined."""
        statuses = {b.id: b.status for b in self.benefits}
        return [
            r
            for r in self.estimates.values()
            if r.counted and statuses[r.benefit_id] is Status.APPLIES
        ]


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class TownMeasureResult(Valued):
    """One measure seen from a town or development zone."""

    measure: Measure
    status: Status
    target: int | None


@dataclass(frozen=True, eq=False, repr=False)
class TownEvaluation(Valued):
    """The measures addressed to one town of 附件2, with its 2021 target."""

    model: PolicyModel
    town: Town
    measures: tuple[TownMeasureResult, ...]

    @property
    def target(self) -> int:
        """The town's 2021 target of 附件2 (enterprises to register)."""
        return self.town.target

    def status(self, measure_id: str) -> Status:
        """Whether measure ``measure_id`` addresses the town (``UnknownNameError`` with a "did
        you mean" for an id that is not a measure)."""
        for m in self.measures:
            if m.measure.id == measure_id:
                return m.status
        raise UnknownNameError(
            "measure", measure_id, close_matches(measure_id, [m.measure.id for m in self.measures])
        )
