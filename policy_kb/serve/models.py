"""The HTTP API's request and response models, from which FastAPI writes the OpenAPI document.

The evaluation document — the public JSON contract — is described once, by the shipped
``schemas/evaluation.schema.json`` (what other tools validate against); it enters the OpenAPI
components as it is (:func:`evaluation_components`). Every other answer has a pydantic model here.
The service builds its answers as plain dicts (:mod:`policy_kb.views.document`), far faster than
building models; the tests validate every answer against these schemas. The profile model is
generated from the fact definitions of measures.yaml, so a fact added there is documented without
touching code.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, create_model

from ..policy.model import YEAR_RANGE, FactType, PolicyModel

Status = Literal["applies", "does_not_apply", "undetermined"]
Lang = Literal["zh", "en"]
Detail = Literal["full", "summary"]  # how much an evaluation answer carries


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


class Policy(_Model):
    id: str
    title: str
    year: int


#: the evaluation document, as the component the shipped evaluation schema provides, its
#: summary (``detail=summary``), or null
EvaluationRef = Annotated[
    Any,
    WithJsonSchema(
        {
            "anyOf": [
                {"$ref": "#/components/schemas/Evaluation"},
                {"$ref": "#/components/schemas/EvaluationSummary"},
                {"type": "null"},
            ]
        }
    ),
]


# ── the other answers ────────────────────────────────────────────────────────────────────────


class BatchItem(_Model):
    index: int
    ok: bool
    evaluation: EvaluationRef = None
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
        if model.ceilings[fact.id] is not None:
            spec["maximum"] = model.ceilings[fact.id]
        if fact.type is FactType.YEAR:
            spec["minimum"], spec["maximum"] = YEAR_RANGE
        if fact.type is FactType.TOWN and model.targets:
            spec["enum"] = [t.name for t in model.targets.towns] + [None]
        fields[fact.id] = (Annotated[Any, WithJsonSchema(spec)], None)
    doc = (
        "An enterprise profile. A fact left out or null is unknown. Amounts in yuan (元), not 万元."
    )
    return create_model("Profile", __config__=ConfigDict(extra="allow"), __doc__=doc, **fields)


def evaluation_components(schema: dict[str, Any]) -> dict[str, Any]:
    """The shipped evaluation JSON Schema as OpenAPI components: ``Evaluation`` and its ``$defs``
    (as ``Evaluation_…``), so the contract other tools validate against is the API's, word for word."""
    text = json.dumps(schema).replace('"#/$defs/', '"#/components/schemas/Evaluation_')
    moved = json.loads(text)
    defs = moved.pop("$defs", {})
    for key in ("$schema", "$id"):
        moved.pop(key, None)
    return {"Evaluation": moved, **{f"Evaluation_{name}": value for name, value in defs.items()}}
