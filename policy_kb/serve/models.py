"""The HTTP API's request and response models: the JSON contract, written once, as pydantic models.

FastAPI writes the OpenAPI document from these; ``schemas/evaluation.schema.json`` (the contract
other tools validate against) is generated from :class:`Evaluation` too (``python -m
policy_kb.serve.models``; a test checks the shipped file is current). The service itself builds
its answers as plain dicts (:mod:`policy_kb.views.document`), far faster than building models;
the tests validate every answer against these schemas. The profile model is generated from the
fact definitions of measures.yaml, so a fact added there is documented without touching code.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, create_model

from ..policy.model import FactType, PolicyModel

Status = Literal["applies", "does_not_apply", "undetermined"]
Outcome = Literal["true", "false", "unknown"]
Lang = Literal["zh", "en"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow")


class Issue(_Model):
    """One refused fact: which fact and why."""

    fact: str | None
    message: str


class Problem(_Model):
    """An error (RFC 9457 problem details): never a stack trace."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    issues: list[Issue] | None = None


class Policy(_Model):
    id: str
    title: str
    title_zh: str
    title_en: str
    issuer: str | None = None
    year: int
    iri: str | None = None
    measures_file: str | None = None
    measures_sha256: Annotated[str, Field(pattern="^[0-9a-f]{64}$")] | None = None


class Citation(_Model):
    document: str | None = None
    measure: str
    number: Annotated[str, Field(description="the measure number as printed, e.g. 三(七)")]
    part: str | None = None
    title: str | None = None
    text: Annotated[str, Field(description="the verbatim sentence of the clause")]
    clause: Annotated[str, Field(description="the whole clause, verbatim")] | None = None


class Source(_Model):
    file: str
    line: int
    column: int | None = None
    clause: str | None = None


class Reason(_Model):
    """One record per condition: as written, its outcome, the facts read, threshold, source."""

    condition: Annotated[str, Field(description="the condition as written in measures.yaml")]
    kind: Literal["fact", "comparison", "category", "all", "any", "not", "precheck"]
    outcome: Outcome
    text: str | None = None
    facts: (
        Annotated[
            dict[str, Any], Field(description="the facts read and their values (null = unknown)")
        ]
        | None
    ) = None
    threshold: Any = None
    operator: str | None = None
    parameters: dict[str, Any] | None = None
    category: str | None = None
    label: str | None = None
    parts: list[Reason] | None = None
    source: Source


class Parameter(_Model):
    id: str
    label: str | None = None
    value: float | None
    unit: str
    valid_from: str
    valid_until: str | None = None
    clause: str | None = None
    quote: str | None = None
    reference: str | None = None


class Estimate(_Model):
    amount: float
    currency: Literal["CNY"]
    kind: Literal["cash", "tax_saving", "deduction"]
    formula: str
    formula_text: (
        Annotated[str, Field(description="the formula in words, in the answer's language")] | None
    ) = None
    inputs: dict[str, Any]
    input_texts: (
        Annotated[list[str], Field(description="each input in words: label = value with its unit")]
        | None
    ) = None
    conditional: bool | None = None
    conflicts_with: list[str] | None = None
    counted_in_total: bool | None = None
    note: str | None = None


class NearMiss(_Model):
    condition: str
    fact: str | None = None
    value: Any = None
    threshold: Any = None
    operator: str | None = None
    gap: float | None = None
    direction: Literal["short", "over", "flag"]
    unit: str | None = None
    alternative: bool | None = None
    text: str


class Benefit(_Model):
    id: str
    measure: str | None = None
    kind: (
        Literal[
            "tax_incentive",
            "cash_reward",
            "priority_support",
            "credit_product",
            "service",
            "guidance",
        ]
        | None
    ) = None
    kind_label: str | None = None
    title: str | None = None
    title_zh: str | None = None
    title_en: str | None = None
    description: str | None = None
    status: Status
    status_label: str | None = None
    summary: Annotated[str, Field(description="the reason in one line")] | None = None
    reasons: list[Reason]
    missing: Annotated[
        list[str], Field(description="facts whose absence keeps the benefit undetermined")
    ]
    missing_labels: list[str] | None = None
    citation: Citation
    parameters: list[Parameter] | None = None
    reading: str | None = None
    amount_note: str | None = None
    estimate: Estimate | None = None
    estimate_note: Annotated[str | None, Field(description="why there is no amount")] = None
    near_misses: (
        Annotated[
            list[NearMiss],
            Field(
                description="for a benefit that does not apply: its failing conditions and their gaps"
            ),
        ]
        | None
    ) = None
    would_apply_once_registered: bool | None = None
    source: Source | None = None


class Measure(_Model):
    id: str
    number: str
    kind: Literal["key", "safeguard"]
    part: str | None = None
    audience: Literal["enterprises", "towns_and_zones", "district_government", "service_providers"]
    audience_label: str | None = None
    title: str
    title_zh: str | None = None
    title_en: str | None = None
    status: Status
    status_label: str | None = None
    summary: str | None = None
    missing: list[str] | None = None
    citation: Citation | None = None
    benefits: list[Benefit]


class Change(_Model):
    fact: str
    label: str | None = None
    from_: Annotated[float, Field(alias="from")]
    to: float
    delta: float
    unit: str | None = None
    indicator: str | None = None
    points: int | None = None
    score: int
    text: str


class ScoreSource(_Model):
    numerator: str
    denominator: str | None = None
    tiers: str | None = None
    counts: bool
    measured: float | None = None
    unit: str | None = None
    points: int | None
    unknown: list[str] | None = None
    text: str | None = None


class Indicator(_Model):
    id: str
    label: str | None = None
    points: int | None
    range: list[int]
    max_points: int | None = None
    sources: list[ScoreSource]


class Precheck(_Model):
    """The tech-SME evaluation pre-check (国科发政〔2017〕115号)."""

    label: str | None = None
    qualifies: bool | None
    route: Literal["direct", "score"] | None
    score: int | None
    score_range: list[int] | None = None
    pass_score: float | None = None
    scores: dict[str, int | None]
    indicators: list[Indicator] | None = None
    basic_conditions: dict[str, bool | None]
    direct_routes: dict[str, bool | None] | None = None
    missing: list[str]
    missing_labels: list[str] | None = None
    reasons: list[str]
    verdict: str | None = None
    smallest_change: Change | None = None
    changes: list[Change] | None = None
    reference: str | None = None
    source: dict[str, Any] | None = None


class Counts(_Model):
    applies: int
    does_not_apply: int
    undetermined: int


class Summary(_Model):
    measures: Counts
    benefits: Counts
    applicable_benefits: list[str]
    undetermined_benefits: list[str] | None = None


class ProfileEcho(_Model):
    name: str | None = None
    facts: Annotated[
        dict[str, Any], Field(description="the known facts as validated; unknown facts are absent")
    ]
    derived: (
        Annotated[
            dict[str, Any],
            Field(description="derived facts computed from the profile (null when unknown)"),
        ]
        | None
    ) = None


class TownOfProfile(_Model):
    name: str
    name_en: str | None = None
    target: int
    target_year: int | None = None
    unit: str | None = None
    annex: str | None = None


class Conflict(_Model):
    benefits: list[str]
    counted: list[str]


class Estimates(_Model):
    currency: Literal["CNY"]
    total_by_kind: dict[str, float]
    conflicts: list[Conflict]


class ToSupply(_Model):
    fact: str
    label: str | None = None
    settles: list[str]


class Evaluation(_Model):
    """The answer of ``policy-kb match --format json`` and ``Evaluation.to_dict()``. The keys listed
    as required, the ids and the status words are a public contract: keys may be added in later
    versions, none is renamed."""

    policy: Policy
    year: Annotated[int, Field(description="the evaluation year (parameters in force that year)")]
    lang: Lang | None = None
    engine: str | None = None
    profile: ProfileEcho
    town: TownOfProfile | None = None
    notes: list[str] | None = None
    summary: Summary
    tech_sme_precheck: Precheck | None
    estimates: Estimates
    to_supply: Annotated[
        list[ToSupply], Field(description="facts to supply, those that settle most first")
    ]
    measures: list[Measure]


# ── the other answers ────────────────────────────────────────────────────────────────────────


class BatchItem(_Model):
    index: int
    ok: bool
    evaluation: Evaluation | None = None
    status: int | None = None
    detail: str | None = None
    issues: list[Issue] | None = None


class BatchAnswer(_Model):
    count: int
    errors: int
    results: list[BatchItem]


class ParameterValueHistory(_Model):
    from_: Annotated[str, Field(alias="from")]
    until: str | None = None
    value: float | None = None
    tiers: list[dict[str, float]] | None = None
    reference: str | None = None


class ParameterHistory(_Model):
    id: str
    label: str | None = None
    unit: str
    clause: str | None = None
    quote: str | None = None
    reference: str | None = None
    values: list[ParameterValueHistory]


ConditionAsWritten = Annotated[
    Any, WithJsonSchema({"oneOf": [{"type": "string"}, {"type": "object"}]})
]


class EstimateSpec(_Model):
    kind: str
    cases: list[dict[str, str | None]]
    note: str | None = None


class BenefitDetail(_Model):
    id: str
    measure: str
    number: str
    kind: str
    kind_label: str | None = None
    title: str
    title_zh: str | None = None
    title_en: str | None = None
    description: str | None = None
    quote: str
    clause: str
    citation: Citation
    conditions: list[ConditionAsWritten]
    parameters: list[ParameterHistory]
    estimate: EstimateSpec | None = None
    amount_note: str | None = None
    reading: str | None = None
    implies: list[str]
    not_combinable_with: list[str]
    source: Source | None = None


class MeasureDetail(_Model):
    id: str
    number: str
    kind: Literal["key", "safeguard"]
    part: str | None = None
    audience: str
    audience_label: str | None = None
    title: str
    title_zh: str | None = None
    title_en: str | None = None
    text: str
    citation: Citation | None = None
    targets: str | None = None
    benefits: list[BenefitDetail]
    source: Source | None = None


class CatalogueBenefit(_Model):
    id: str
    kind: str | None = None
    title: str | None = None
    description: str | None = None
    quote: str | None = None
    conditions: list[ConditionAsWritten]
    parameters: list[str] | None = None


class CatalogueMeasure(_Model):
    id: str
    number: str
    kind: Literal["key", "safeguard"]
    part: str | None = None
    audience: str | None = None
    title: str
    title_zh: str | None = None
    title_en: str | None = None
    text: str
    benefits: list[CatalogueBenefit]


class TownRow(_Model):
    seq: int
    name: str
    name_en: str | None = None
    target: int


class Targets(_Model):
    annex: str
    year: int
    unit: str
    towns: list[TownRow]
    total: int


class Catalogue(_Model):
    policy: Policy
    measures: list[CatalogueMeasure]
    targets: Targets | None


class Choice(_Model):
    value: str
    label: str


class FormField(_Model):
    id: str
    label: str
    type: Literal["bool", "count", "money", "year", "text", "town"]
    unit: str | None = None
    min: float | None = None
    max: float | str | None = None
    help: str | None = None
    choices: list[Choice] | None = None


class FormGroup(_Model):
    name: str
    label: str
    facts: list[FormField]


class Facts(_Model):
    lang: Lang
    groups: list[FormGroup]


class Towns(_Model):
    annex: str | None = None
    title: str | None = None
    year: int | None = None
    unit: str | None = None
    towns: list[TownRow]
    total: int | None
    rows_sum: int


class TownInfo(_Model):
    name: str
    name_en: str | None = None
    seq: int | None = None
    target: int
    target_year: int | None = None
    unit: str | None = None
    annex: str | None = None


class District(_Model):
    towns: int
    total: int
    rows_sum: int


class TownMeasure(_Model):
    id: str
    number: str | None = None
    kind: str | None = None
    audience: str | None = None
    title: str | None = None
    status: Status
    status_label: str | None = None
    summary: str | None = None
    target: int | None = None
    citation: Citation | None = None


class Town(_Model):
    policy: Policy | None = None
    town: TownInfo
    district: District
    measures: list[TownMeasure]


class Health(_Model):
    status: Literal["ok"]
    version: str
    policy: str | None = None
    measures: int
    benefits: int
    measures_sha256: str | None = None


_JSON_TYPES = {
    "bool": "boolean",
    "count": "integer",
    "year": "integer",
    "money": "number",
    "text": "string",
    "town": "string",
}


def profile_model(model: PolicyModel) -> type[BaseModel]:
    """The request body of ``/v1/evaluate``, generated from the fact definitions.

    Only documentation: the service validates a profile with policy_kb's own checks (the same
    messages as the CLI), so every field accepts any JSON value here.
    """
    fields: dict[str, Any] = {}
    for fact in model.facts.values():
        spec: dict[str, Any] = {
            "type": [_JSON_TYPES[fact.type.value], "null"],
            "description": f"{fact.label.zh} — {fact.label.en}"
            + (f" ({fact.unit})" if fact.unit else ""),
        }
        if isinstance(fact.minimum, (int, float)):
            spec["minimum"] = fact.minimum
        if isinstance(fact.maximum, (int, float)):
            spec["maximum"] = fact.maximum
        if fact.type is FactType.TOWN and model.targets:
            spec["enum"] = [t.name for t in model.targets.towns] + [None]
        fields[fact.id] = (Annotated[Any, WithJsonSchema(spec)], None)
    doc = (
        "An enterprise profile. A fact left out or null is unknown. Amounts in yuan (元), not 万元."
    )
    return create_model("Profile", __config__=ConfigDict(extra="allow"), __doc__=doc, **fields)


def evaluation_schema() -> dict[str, Any]:
    """The JSON Schema of the evaluation document (what ``schemas/evaluation.schema.json`` holds)."""
    schema = Evaluation.model_json_schema(by_alias=True)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://w3id.org/policy-kb/schemas/evaluation.schema.json",
        **schema,
    }


if __name__ == "__main__":  # regenerate the shipped schema: python -m policy_kb.serve.models
    sys.stdout.write(json.dumps(evaluation_schema(), ensure_ascii=False, indent=2) + "\n")
