"""The validated policy model: what measures.yaml says, as frozen dataclasses.

Objects here are built only by the loader (:mod:`policy_kb.policy.loader`) after the whole file
has passed validation, and never change afterwards. Every object keeps the :class:`Location` it
was read from, so answers and errors can point back at the line of measures.yaml. Labels and
titles are :class:`~policy_kb.text.Text` (Chinese and English); the rules are trees of
:mod:`policy_kb.rules.tree`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ..errors import Location
from ..records import Valued
from ..rules.tree import AllOf, Best, Comparison, Condition, Estimate, Exclusive, Expr, Total
from ..rules.walk import parameters_in
from ..text import Text, label


class Status(StrEnum):
    """The answer for one measure or benefit: applies, does not apply, or undetermined."""

    APPLIES = "applies"
    DOES_NOT_APPLY = "does_not_apply"
    UNDETERMINED = "undetermined"


#: a condition's outcome (Kleene: True, False, None = unknown) as a status
STATUS_OF = {True: Status.APPLIES, False: Status.DOES_NOT_APPLY, None: Status.UNDETERMINED}


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


NUMERIC = frozenset({FactType.COUNT, FactType.MONEY, FactType.YEAR})
YEAR_RANGE = (1949, 2100)  # the years a year fact (and ``--year``) may name


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class FactDef(Valued):
    """One fact an enterprise profile may carry."""

    id: str
    label: Text
    type: FactType
    unit: str | None
    minimum: float | None
    maximum: float | str | None  # a number, or the id of another fact
    group: str | None
    location: Location
    help: Text | None = None

    @property
    def numeric(self) -> bool:
        return self.type in NUMERIC


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class EvidenceHolder(Valued):
    """An organisation that issues or keeps evidence (``evidence.holders``)."""

    id: str
    label: Text


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class EvidenceType(Valued):
    """A kind of document or record that proves facts (``evidence.types``; CCCEV's EvidenceType).

    ``held`` is whether the government already holds it: True, False (the enterprise provides
    it) or None (not established — treated as something the enterprise provides)."""

    id: str
    label: Text
    holder: str
    held: bool | None
    source: str
    proves: tuple[str, ...]
    location: Location


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class FactGroup(Valued):
    """A group of the form (``fact_groups`` in measures.yaml): its name and English label."""

    name: str
    label: Text
    location: Location | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class DerivedFactDef(Valued):
    """A fact computed from others (never given in a profile); its formula is a rule tree."""

    id: str
    label: Text
    type: FactType
    unit: str | None
    formula_text: str
    formula: Expr
    inputs: tuple[str, ...]
    group: str | None
    location: Location


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Tier(Valued):
    """One step of a score table: ``at_least`` (inclusive) earns ``points``."""

    at_least: int | float
    points: int


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class ParameterValue(Valued):
    """One dated value of a parameter: in force from ``start`` to ``end`` (inclusive).

    A plain parameter has a ``value``; a score table has ``tiers`` (highest first) instead.
    """

    start: dt.date
    end: dt.date | None
    value: int | float | None
    reference: Text | None
    location: Location
    tiers: tuple[Tier, ...] = ()


def value_in_force(values: Sequence[ParameterValue], day: dt.date) -> ParameterValue | None:
    """Of dated values written in the order they start, the one in force on ``day``: the latest
    started on or before it, unless it ended before it."""
    current = None
    for v in values:
        if v.start <= day:
            current = v
    if current is None or (current.end is not None and day > current.end):
        return None
    return current


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Parameter(Valued):
    """A figure of the text or of the rules it relies on, with dated values."""

    id: str
    label: Text
    unit: str
    clause: str | None
    quote: str | None
    reference: Text | None
    values: tuple[ParameterValue, ...]
    location: Location
    inclusive: bool = (
        False  # the text writes the bound as （含）/ 以上 / 以下: compared with <= / >=
    )

    def value_on(self, day: dt.date) -> ParameterValue | None:
        """The value in force on ``day``: the latest one started on or before it."""
        return value_in_force(self.values, day)

    def value_for_year(self, year: int) -> ParameterValue | None:
        """The value in force for a tax or policy year (read on 31 December of that year)."""
        return self.value_on(dt.date(year, 12, 31))

    @property
    def is_table(self) -> bool:
        return bool(self.values and self.values[0].tiers)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Category(Valued):
    """A named category (SME size, …) defined once and referred to by name.

    ``reads_as`` says how sentences name it: ``condition`` (符合中小企业条件 / meets the SME size
    conditions) or ``member`` (是小型微利企业 / is a small low-profit enterprise).
    """

    id: str
    label: Text
    clause: str | None
    quote: str | None
    reference: Text | None
    condition: AllOf
    location: Location
    reads_as: str = "member"


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Benefit(Valued):
    """Something an enterprise may get under a measure, and when."""

    id: str
    measure_id: str
    kind: BenefitKind
    title: Text
    description: Text
    quote: str
    condition: AllOf
    parameters: tuple[str, ...]
    reading: Text | None
    amount_note: Text | None
    location: Location
    estimate: Estimate | None = None
    not_combinable_with: tuple[str, ...] = ()
    implies: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class NamedCondition(Valued):
    """A labelled group of conditions (a basic condition or a direct route of the evaluation)."""

    id: str
    label: Text
    condition: AllOf
    location: Location


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class EvaluationMethod(Valued):
    """The national tech-SME evaluation (国科发政〔2017〕115号) as data, and as one rule tree.

    ``rule`` is the whole method as a condition: every basic condition, and a direct route or a
    total score of at least ``pass_score`` with no indicator of ``nonzero`` at 0 points.
    ``establishes`` is the fact a pass leads to (the registration number), so that benefits can
    say they would apply once it is obtained.
    """

    label: Text
    clause: str | None
    quote: str | None
    reference: Text | None
    basic: tuple[NamedCondition, ...]
    direct: tuple[NamedCondition, ...]
    indicators: tuple[Best, ...]
    pass_score: str
    nonzero: tuple[str, ...]
    establishes: str | None
    rule: AllOf
    location: Location

    @property
    def basic_rule(self) -> Condition:
        return self.rule.parts[0]

    @property
    def direct_rule(self) -> Condition:
        return self.rule.parts[1].children()[0]  # type: ignore[return-value]

    @property
    def score_rule(self) -> Condition:
        return self.rule.parts[1].children()[1]  # type: ignore[return-value]

    @property
    def total(self) -> Total:
        """The total score, the sum of the indicators' points that the pass mark is compared with."""
        for part in self.score_rule.children():
            if isinstance(part, Comparison) and isinstance(part.left, Total):
                return part.left
        raise AssertionError("the score route compares no total")  # built so by rulesets


PRECHECK = "tech_sme_precheck"
"""The id of the evaluation's answer: its block in the JSON, its OWL class, a near miss's place."""


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Measure(Valued):
    """One of the twelve measures: KM1–KM9 (三、重点举措) and SM1–SM3 (四、保障措施)."""

    id: str
    number: str
    part: str
    kind: MeasureKind
    title: Text
    audience: Audience
    text: str
    targets: str | None
    benefits: tuple[Benefit, ...]
    reading: Text | None
    location: Location


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Part(Valued):
    """A part of the document (一 … 四) or an annex (附件2).

    A part that holds measures names the prefix of their ids (KM for 三、重点举措) and their kind.
    """

    number: str
    heading: str
    title: Text
    text: str | None
    location: Location
    measure_prefix: str | None = None
    measure_kind: MeasureKind | None = None
    #: words by which the text grants something; each occurrence lies inside a benefit's quote
    grant_words: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Document(Valued):
    """The policy document itself."""

    id: str
    title: Text
    issuer: Text | None
    year: int
    source_file: str
    source_text: str
    iri: str
    parts: tuple[Part, ...]
    location: Location

    def heading_of(self, part: str) -> str:
        """``三、重点举措`` for ``三``."""
        return next((p.heading for p in self.parts if p.number == part), part)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Town(Valued):
    """One row of 附件2: a town or development zone and its target."""

    seq: int
    name: str
    name_en: str | None
    target: int
    location: Location

    @property
    def label(self) -> Text:
        return Text(self.name, self.name_en or self.name)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class TargetTable(Valued):
    """附件2: targets per town, and the printed total."""

    annex: str
    title: Text
    year: int
    unit: str
    towns: tuple[Town, ...]
    total: int
    location: Location

    def town(self, name: str) -> Town | None:
        """The town of this name, in Chinese or in English (``Lijia Town``, any case)."""
        found = next((t for t in self.towns if t.name == name), None)
        if found is None:
            key = name.strip().casefold()
            found = next((t for t in self.towns if t.name_en and t.name_en.casefold() == key), None)
        return found


@dataclass(frozen=True, eq=False, repr=False)
class PolicyModel(Valued):
    """Everything measures.yaml says, validated. Built by :func:`policy_kb.policy.load_model`."""

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
    exclusions: tuple[Exclusive, ...] = ()
    holders: Mapping[str, EvidenceHolder] = field(default_factory=dict)
    evidence: tuple[EvidenceType, ...] = ()
    benefits: Mapping[str, Benefit] = field(init=False)
    evidence_of: Mapping[str, tuple[EvidenceType, ...]] = field(init=False)  # fact → its evidence
    measures_by_id: Mapping[str, Measure] = field(init=False)
    condition_parameters: tuple[str, ...] = field(init=False)
    fact_by_label: Mapping[str, str] = field(init=False)  # a fact's Chinese label → its id
    first_of_type: Mapping[FactType, str] = field(init=False)  # the first fact of each type
    # a number fact's highest value, through the fact bounding it (tech_staff: employees' maximum)
    ceilings: Mapping[str, float | None] = field(init=False)
    bounded: tuple[tuple[str, str], ...] = field(init=False)  # (tech_staff, employees): ≤
    # a fact's type and the lowest and highest value it may take (±inf: no bound; a year's bounds
    # are YEAR_RANGE; a bound by another fact is that fact's ceiling)
    ranges: Mapping[str, tuple[FactType, float, float]] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fact_by_label", {f.label.zh: f.id for f in self.facts.values()})
        proving: dict[str, list[EvidenceType]] = {}
        for kind in self.evidence:
            for fact in kind.proves:
                proving.setdefault(fact, []).append(kind)
        object.__setattr__(self, "evidence_of", {k: tuple(v) for k, v in proving.items()})
        first: dict[FactType, str] = {}
        for f in self.facts.values():
            first.setdefault(f.type, f.id)
        object.__setattr__(self, "first_of_type", first)
        object.__setattr__(self, "ceilings", {f: self._ceiling(f) for f in self.facts})
        bounded = tuple(
            (f.id, f.maximum) for f in self.facts.values() if isinstance(f.maximum, str)
        )
        object.__setattr__(self, "bounded", bounded)
        object.__setattr__(self, "ranges", {f: self._range(f) for f in self.facts})
        benefits = {b.id: b for m in self.measures for b in m.benefits}
        object.__setattr__(self, "benefits", benefits)
        object.__setattr__(self, "measures_by_id", {m.id: m for m in self.measures})
        used: dict[str, None] = {}
        trees: list[Any] = [c.condition for c in self.categories.values()]
        trees += [b.condition for b in benefits.values()]
        if self.evaluation is not None:
            trees.append(self.evaluation.rule)
        for tree in trees:
            for name in parameters_in(tree):
                used.setdefault(name)
        object.__setattr__(self, "condition_parameters", tuple(used))

    def _range(self, name: str) -> tuple[FactType, float, float]:
        fact, top = self.facts[name], self.ceilings[name]
        low = -math.inf if fact.minimum is None else fact.minimum
        high = math.inf if top is None else top
        if fact.type is FactType.YEAR:
            low, high = max(low, YEAR_RANGE[0]), min(high, YEAR_RANGE[1])
        return fact.type, low, high

    def _ceiling(self, fact: str) -> float | None:
        seen: set[str] = set()
        top = self.facts[fact].maximum
        while isinstance(top, str) and top in self.facts and top not in seen:
            seen.add(top)
            top = self.facts[top].maximum
        return None if isinstance(top, str) else top

    def form_groups(self) -> list[tuple[FactGroup, list[FactDef]]]:
        """The facts of a profile form, by group in the file's order; ungrouped facts last."""
        groups: dict[str, tuple[FactGroup, list[FactDef]]] = {
            g.name: (g, []) for g in self.fact_groups
        }
        words = label("label.other_group")
        other = FactGroup(words.zh, words)
        for fact in self.facts.values():
            name = fact.group or other.name
            if name not in groups:
                groups[name] = (
                    other if fact.group is None else FactGroup(name, Text(name, name)),
                    [],
                )
            groups[name][1].append(fact)
        return [(g, facts) for g, facts in groups.values() if facts]

    def fact_label(self, fact: str) -> Text:
        """The label of a fact or derived fact (the id when unknown)."""
        d: FactDef | DerivedFactDef | None = self.facts.get(fact) or self.derived.get(fact)
        return d.label if d else Text(fact, fact)

    def fact_unit(self, fact: str) -> str | None:
        d: FactDef | DerivedFactDef | None = self.facts.get(fact) or self.derived.get(fact)
        return d.unit if d else None

    def fact_of_type(self, kind: FactType) -> str | None:
        """The id of the first fact of a type (the enterprise's ``name``, its ``town``, ``year``)."""
        return self.first_of_type.get(kind)
