"""The validated policy model: what measures.yaml says, as frozen dataclasses.

Objects here are built only by the loader (``_loader.py``) after the whole file has passed
validation, and never change afterwards. Every object keeps the :class:`Location` it was read
from, so answers and errors can point back at the line of measures.yaml.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ._conditions import AllOf, Condition, Expr, flatten_parameters
from ._errors import Location


class Status(StrEnum):
    """The answer for one measure or benefit (READING.md §3)."""

    APPLIES = "applies"
    DOES_NOT_APPLY = "does_not_apply"
    UNDETERMINED = "undetermined"


class MeasureKind(StrEnum):
    """三、重点举措 are key measures; 四、保障措施 are safeguard measures."""

    KEY = "key"
    SAFEGUARD = "safeguard"


class Audience(StrEnum):
    """Who a measure is addressed to."""

    ENTERPRISES = "enterprises"
    TOWNS_AND_ZONES = "towns_and_zones"
    DISTRICT_GOVERNMENT = "district_government"
    SERVICE_PROVIDERS = "service_providers"


class BenefitKind(StrEnum):
    """What kind of thing an enterprise gets."""

    TAX_INCENTIVE = "tax_incentive"
    CASH_REWARD = "cash_reward"
    PRIORITY_SUPPORT = "priority_support"
    CREDIT_PRODUCT = "credit_product"
    SERVICE = "service"
    GUIDANCE = "guidance"


class FactType(StrEnum):
    """The type of a profile fact."""

    TEXT = "text"
    YEAR = "year"
    TOWN = "town"
    BOOL = "bool"
    COUNT = "count"
    MONEY = "money"


AUDIENCE_LABELS: Mapping[Audience, tuple[str, str]] = {
    Audience.ENTERPRISES: ("企业", "enterprises"),
    Audience.TOWNS_AND_ZONES: ("各镇、开发区", "towns and development zones"),
    Audience.DISTRICT_GOVERNMENT: ("区政府及相关部门", "the district government"),
    Audience.SERVICE_PROVIDERS: ("孵化载体、科研机构等服务机构", "service providers"),
}

BENEFIT_KIND_LABELS: Mapping[BenefitKind, tuple[str, str]] = {
    BenefitKind.TAX_INCENTIVE: ("税收优惠", "tax incentive"),
    BenefitKind.CASH_REWARD: ("奖励资金", "cash reward"),
    BenefitKind.PRIORITY_SUPPORT: ("优先支持", "priority support"),
    BenefitKind.CREDIT_PRODUCT: ("信贷产品", "credit product"),
    BenefitKind.SERVICE: ("服务", "service"),
    BenefitKind.GUIDANCE: ("组织发动", "guidance"),
}


@dataclass(frozen=True, slots=True)
class FactDef:
    """One fact an enterprise profile may carry (READING.md §2)."""

    id: str
    label_zh: str
    label_en: str
    type: FactType
    unit: str | None
    minimum: float | None
    maximum: float | str | None  # a number, or the id of another fact
    group: str | None
    location: Location
    help_zh: str | None = None
    help_en: str | None = None

    def label(self, lang: str) -> str:
        return self.label_zh if lang == "zh" else self.label_en

    def help(self, lang: str) -> str | None:
        """A short hint for the form (where to find the figure), if measures.yaml gives one."""
        return self.help_zh if lang == "zh" else (self.help_en or self.help_zh)


@dataclass(frozen=True, slots=True)
class FactGroup:
    """A group of the form (``fact_groups`` in measures.yaml): its name and English label."""

    name: str
    label_en: str
    location: Location | None = None

    def label(self, lang: str) -> str:
        return self.name if lang == "zh" else self.label_en


@dataclass(frozen=True, slots=True)
class DerivedFactDef:
    """A fact computed from others before evaluation (never given in a profile)."""

    id: str
    label_zh: str
    label_en: str
    type: FactType
    unit: str | None
    formula_text: str
    formula: Expr
    inputs: tuple[str, ...]
    group: str | None
    location: Location

    def label(self, lang: str) -> str:
        return self.label_zh if lang == "zh" else self.label_en


@dataclass(frozen=True, slots=True)
class Tier:
    """One step of a score table: ``at_least`` (inclusive) earns ``points``."""

    at_least: int | float
    points: int


@dataclass(frozen=True, slots=True)
class ParameterValue:
    """One dated value of a parameter: in force from ``start`` to ``end`` (inclusive).

    A plain parameter has a ``value``; a score table has ``tiers`` (highest first) instead.
    """

    start: dt.date
    end: dt.date | None
    value: int | float | None
    reference: str | None
    location: Location
    tiers: tuple[Tier, ...] = ()

    def points(self, amount: Any) -> int:
        """The points a measured amount earns in this table (0 below the lowest step)."""
        for tier in self.tiers:
            if amount >= tier.at_least:
                return tier.points
        return 0

    def covers(self, day: dt.date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


@dataclass(frozen=True, slots=True)
class Parameter:
    """A figure of the text or of the rules it relies on, with dated values."""

    id: str
    label_zh: str
    label_en: str
    unit: str
    clause: str | None
    quote: str | None
    reference: str | None
    values: tuple[ParameterValue, ...]
    location: Location

    def value_on(self, day: dt.date) -> ParameterValue | None:
        """The value in force on ``day``: the latest one started on or before it."""
        current = None
        for v in self.values:
            if v.start <= day:
                current = v
        if current is None or (current.end is not None and day > current.end):
            return None
        return current

    def value_for_year(self, year: int) -> ParameterValue | None:
        """The value in force for a tax or policy year (read on 31 December of that year)."""
        return self.value_on(dt.date(year, 12, 31))

    def label(self, lang: str) -> str:
        return self.label_zh if lang == "zh" else self.label_en


@dataclass(frozen=True, slots=True)
class Category:
    """A named category (SME size, …) defined once and referred to by name."""

    id: str
    label_zh: str
    label_en: str
    clause: str | None
    quote: str | None
    reference: str | None
    condition: AllOf
    location: Location

    def label(self, lang: str) -> str:
        return self.label_zh if lang == "zh" else self.label_en


@dataclass(frozen=True, slots=True)
class EstimateCase:
    """One formula of an estimate, used when its ``when`` condition holds (always if None)."""

    when: Condition | None
    formula_text: str
    formula: Expr
    location: Location
    facts: tuple[str, ...] = field(init=False)
    parameters: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "facts", self.formula.facts())
        object.__setattr__(self, "parameters", self.formula.parameters())


@dataclass(frozen=True, slots=True)
class Estimate:
    """How much a benefit is worth: ``cash``, ``tax_saving`` or ``deduction``, by formula."""

    kind: str
    cases: tuple[EstimateCase, ...]
    note_zh: str | None
    note_en: str | None
    location: Location


@dataclass(frozen=True, slots=True)
class Benefit:
    """Something an enterprise may get under a measure, and when."""

    id: str
    measure_id: str
    kind: BenefitKind
    title_zh: str
    title_en: str
    description_zh: str
    description_en: str
    quote: str
    condition: AllOf
    parameters: tuple[str, ...]
    reading_zh: str | None
    reading_en: str | None
    amount_note_zh: str | None
    amount_note_en: str | None
    location: Location
    estimate: Estimate | None = None
    not_combinable_with: tuple[str, ...] = ()
    implies: tuple[str, ...] = ()

    def title(self, lang: str) -> str:
        return self.title_zh if lang == "zh" else self.title_en

    def description(self, lang: str) -> str:
        return self.description_zh if lang == "zh" else self.description_en


@dataclass(frozen=True, slots=True)
class NamedCondition:
    """A labelled group of conditions (a basic condition or a direct route of the evaluation)."""

    id: str
    label_zh: str
    label_en: str
    condition: AllOf
    location: Location

    def label(self, lang: str) -> str:
        return self.label_zh if lang == "zh" else self.label_en


@dataclass(frozen=True, slots=True)
class ScoreSource:
    """One way to score an indicator: a ratio of two facts, or a count, read against a table."""

    numerator: str
    denominator: str | None
    tiers: str
    location: Location


@dataclass(frozen=True, slots=True)
class Indicator:
    """A scored indicator (科技人员, 研发投入, 科技成果): the best of its sources counts."""

    id: str
    label_zh: str
    label_en: str
    max_points: int
    sources: tuple[ScoreSource, ...]
    location: Location

    def label(self, lang: str) -> str:
        return self.label_zh if lang == "zh" else self.label_en


@dataclass(frozen=True, slots=True)
class EvaluationMethod:
    """The national tech-SME evaluation (国科发政〔2017〕115号) as data."""

    label_zh: str
    label_en: str
    clause: str | None
    quote: str | None
    reference: str | None
    basic: tuple[NamedCondition, ...]
    direct: tuple[NamedCondition, ...]
    indicators: tuple[Indicator, ...]
    pass_score: str
    nonzero: tuple[str, ...]
    location: Location

    def label(self, lang: str) -> str:
        return self.label_zh if lang == "zh" else self.label_en


@dataclass(frozen=True, slots=True)
class Measure:
    """One of the twelve measures: KM1–KM9 (三、重点举措) and SM1–SM3 (四、保障措施)."""

    id: str
    number: str
    part: str
    kind: MeasureKind
    title_zh: str
    title_en: str
    audience: Audience
    text: str
    targets: str | None
    benefits: tuple[Benefit, ...]
    reading_zh: str | None
    reading_en: str | None
    location: Location

    def title(self, lang: str) -> str:
        return self.title_zh if lang == "zh" else self.title_en


@dataclass(frozen=True, slots=True)
class Part:
    """A part of the document (一 … 四) or an annex (附件2)."""

    number: str
    heading: str
    title_zh: str
    title_en: str
    text: str | None
    location: Location

    def title(self, lang: str) -> str:
        return self.title_zh if lang == "zh" else self.title_en


@dataclass(frozen=True, slots=True)
class Document:
    """The policy document itself."""

    id: str
    title_zh: str
    title_en: str
    issuer_zh: str | None
    issuer_en: str | None
    year: int
    source_file: str
    source_text: str
    iri: str
    parts: tuple[Part, ...]
    location: Location

    def title(self, lang: str) -> str:
        return self.title_zh if lang == "zh" else self.title_en


@dataclass(frozen=True, slots=True)
class Town:
    """One row of 附件2: a town or development zone and its target."""

    seq: int
    name: str
    name_en: str | None
    target: int
    location: Location


@dataclass(frozen=True, slots=True)
class TargetTable:
    """附件2: targets per town, and the printed total."""

    annex: str
    title_zh: str
    title_en: str | None
    year: int
    unit: str
    towns: tuple[Town, ...]
    total: int
    location: Location

    def town(self, name: str) -> Town | None:
        for t in self.towns:
            if t.name == name:
                return t
        return None


@dataclass(frozen=True)
class PolicyModel:
    """Everything measures.yaml says, validated. Built by :func:`policy_kb._loader.load_model`."""

    file: str
    sha256: str
    document: Document
    facts: Mapping[str, FactDef]
    derived: Mapping[str, DerivedFactDef]
    parameters: Mapping[str, Parameter]
    categories: Mapping[str, Category]
    measures: tuple[Measure, ...]
    targets: TargetTable | None
    evaluation: EvaluationMethod | None = None
    fact_groups: tuple[FactGroup, ...] = ()
    benefits: Mapping[str, Benefit] = field(init=False)
    measures_by_id: Mapping[str, Measure] = field(init=False)
    condition_parameters: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        benefits = {b.id: b for m in self.measures for b in m.benefits}
        object.__setattr__(self, "benefits", benefits)
        object.__setattr__(self, "measures_by_id", {m.id: m for m in self.measures})
        used: dict[str, None] = {}
        for cond in _all_conditions(self):
            for name in _parameters_in(cond):
                used.setdefault(name)
        if self.evaluation is not None:
            used.setdefault(self.evaluation.pass_score)
            for indicator in self.evaluation.indicators:
                for source in indicator.sources:
                    used.setdefault(source.tiers)
        object.__setattr__(self, "condition_parameters", tuple(used))

    def form_groups(self) -> list[tuple[FactGroup, list[FactDef]]]:
        """The facts of a profile form, by group in the file's order; ungrouped facts last."""
        groups: dict[str, tuple[FactGroup, list[FactDef]]] = {
            g.name: (g, []) for g in self.fact_groups
        }
        other = FactGroup("其他", "Other")
        for fact in self.facts.values():
            name = fact.group or other.name
            if name not in groups:
                groups[name] = (other if fact.group is None else FactGroup(name, name), [])
            groups[name][1].append(fact)
        return [(g, facts) for g, facts in groups.values() if facts]

    def fact_label(self, fact: str, lang: str) -> str:
        """The label of a fact or derived fact in ``lang`` (the id when unknown)."""
        d: FactDef | DerivedFactDef | None = self.facts.get(fact) or self.derived.get(fact)
        return d.label(lang) if d else fact

    def fact_unit(self, fact: str) -> str | None:
        d: FactDef | DerivedFactDef | None = self.facts.get(fact) or self.derived.get(fact)
        return d.unit if d else None


def _all_conditions(model: PolicyModel) -> list[Condition]:
    conds: list[Condition] = [c.condition for c in model.categories.values()]
    conds += [b.condition for m in model.measures for b in m.benefits]
    if model.evaluation is not None:
        conds += [n.condition for n in (*model.evaluation.basic, *model.evaluation.direct)]
    return conds


def _parameters_in(condition: Condition) -> list[str]:
    return flatten_parameters(condition)
