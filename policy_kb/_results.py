"""What an evaluation returns: one status per measure and benefit, with the record behind it.

These objects are the single explanation of an answer. The CLI table, the JSON document and the
sentences in Chinese or English are all views of them (``_render``, ``_serialize``,
``_explain``); nothing is computed twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._conditions import Trace
from ._errors import UnknownNameError
from ._estimates import EstimateResult
from ._model import Benefit, Measure, ParameterValue, PolicyModel, Status, Town
from ._precheck import PrecheckResult
from ._profile import Profile
from ._serialize import dumps, evaluation_to_dict, town_to_dict
from ._suggest import close_matches


@dataclass(frozen=True, slots=True)
class BenefitResult:
    """The answer for one benefit: its status, the record of every condition, what is missing."""

    benefit: Benefit
    status: Status
    trace: Trace
    missing: tuple[str, ...]

    @property
    def id(self) -> str:
        return self.benefit.id


@dataclass(frozen=True, slots=True)
class MeasureResult:
    """The answer for one measure, derived from its benefits (READING.md §3)."""

    measure: Measure
    status: Status
    benefits: tuple[BenefitResult, ...]
    missing: tuple[str, ...]
    addressed_to_enterprises: bool

    @property
    def id(self) -> str:
        return self.measure.id


@dataclass(frozen=True)
class Evaluation:
    """The answer for one enterprise profile in one year.

    ``status("KM7")`` or ``status("KM7.rd_growth_reward")`` gives a status word;
    :meth:`to_dict` and :meth:`to_json` give the public JSON contract.
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
    once_registered: frozenset[str] = frozenset()
    engine: str = "fast"

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

    @property
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
        """The estimated value of one benefit (its ``amount`` is None when there is none; see ``reason``)."""
        self.benefit(benefit_id)
        return self.estimates[benefit_id]

    def applicable(self) -> list[BenefitResult]:
        """The benefits that apply."""
        return [b for b in self.benefits if b.status is Status.APPLIES]

    def to_dict(self, lang: str = "zh") -> dict[str, Any]:
        """The public JSON contract (see ``schemas/evaluation.schema.json``)."""
        return evaluation_to_dict(self, lang)

    def to_json(self, lang: str = "zh", indent: int | None = 2) -> str:
        """:meth:`to_dict` as JSON text (UTF-8, Chinese characters unescaped)."""
        return dumps(self.to_dict(lang), indent=indent).decode("utf-8")


@dataclass(frozen=True, slots=True)
class TownMeasureResult:
    """One measure seen from a town or development zone."""

    measure: Measure
    status: Status
    target: int | None


@dataclass(frozen=True)
class TownEvaluation:
    """The measures addressed to one town of 附件2, with its 2021 target."""

    model: PolicyModel
    town: Town
    measures: tuple[TownMeasureResult, ...]

    @property
    def target(self) -> int:
        return self.town.target

    def status(self, measure_id: str) -> Status:
        for m in self.measures:
            if m.measure.id == measure_id:
                return m.status
        raise UnknownNameError(
            "measure", measure_id, close_matches(measure_id, [m.measure.id for m in self.measures])
        )

    def to_dict(self, lang: str = "zh") -> dict[str, Any]:
        """The JSON of ``policy-kb town NAME --format json``."""
        return town_to_dict(self, lang)

    def to_json(self, lang: str = "zh", indent: int | None = 2) -> str:
        """:meth:`to_dict` as JSON text."""
        return dumps(self.to_dict(lang), indent=indent).decode("utf-8")
