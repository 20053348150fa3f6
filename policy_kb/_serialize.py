"""The public JSON contract: evaluations, towns and the measure catalogue as plain dicts.

The ids, status words and the keys named in the issue (``policy``, ``year``, ``measures``,
``id``, ``number``, ``kind``, ``audience``, ``title``, ``status``, ``benefits``, ``reasons``,
``missing``, ``citation``) are public: keys may be added, never renamed. The shape is described
by ``schemas/evaluation.schema.json``, which the tests check every output against.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson

from ._conditions import CategoryRef, Comparison, Flag, Trace, children
from ._errors import UnknownNameError
from ._estimates import EstimateResult, totals
from ._explain import (
    benefit_summary,
    change_sentence,
    estimate_reason,
    formula_words,
    input_words,
    measure_summary,
    precheck_reasons,
    precheck_verdict,
    source_sentence,
    status_word,
    town_measure_sentence,
    trace_sentence,
)
from ._model import (
    AUDIENCE_LABELS,
    BENEFIT_KIND_LABELS,
    Benefit,
    Measure,
    Parameter,
    ParameterValue,
    PolicyModel,
    Status,
)
from ._nearmiss import Gap, gap_sentence, gaps, to_supply
from ._numbers import plain

if TYPE_CHECKING:
    from ._owl import LintReport
    from ._precheck import Change, PrecheckResult
    from ._results import BenefitResult, Evaluation, MeasureResult, TownEvaluation

_OUTCOME = {True: "true", False: "false", None: "unknown"}


def dumps(data: Any, indent: int | None = 2) -> bytes:
    """JSON bytes as every surface writes them: UTF-8, Chinese unescaped, two-space indent.

    orjson gives the same bytes as ``json.dumps(data, ensure_ascii=False, indent=2)``, many times
    faster, so the CLI and the HTTP service answer with identical documents.
    """
    option = orjson.OPT_INDENT_2 if indent else 0
    return orjson.dumps(data, option=option)


_PART_HEADINGS = {"三": "三、重点举措", "四": "四、保障措施"}


LANGUAGES = ("zh", "en")


def check_lang(lang: str) -> str:
    """``lang`` itself when it is a supported language; :class:`UnknownNameError` otherwise."""
    if lang not in LANGUAGES:
        raise UnknownNameError(
            "language", str(lang), [x for x in LANGUAGES if x[0] == str(lang)[:1]]
        )
    return lang


def _pick(lang: str, zh: str | None, en: str | None) -> str | None:
    return en if lang == "en" else zh


def policy_dict(model: PolicyModel, lang: str) -> dict[str, Any]:
    doc = model.document
    return {
        "id": doc.id,
        "title": doc.title(lang),
        "title_zh": doc.title_zh,
        "title_en": doc.title_en,
        "issuer": _pick(lang, doc.issuer_zh, doc.issuer_en),
        "year": doc.year,
        "iri": doc.iri,
        "measures_file": model.file,
        "measures_sha256": model.sha256,
    }


def _part_heading(model: PolicyModel, part: str) -> str:
    for p in model.document.parts:
        if p.number == part:
            return p.heading
    return _PART_HEADINGS.get(part, part)


def citation(model: PolicyModel, measure: Measure, benefit: Benefit | None) -> dict[str, Any]:
    """Where the text says so: the measure number, the verbatim sentence, the whole clause."""
    return {
        "document": model.document.title_zh,
        "measure": measure.id,
        "number": measure.number,
        "part": _part_heading(model, measure.part),
        "title": measure.title_zh,
        "text": benefit.quote if benefit else measure.text,
        "clause": measure.text,
    }


def parameter_dict(param: Parameter, value: ParameterValue, lang: str) -> dict[str, Any]:
    return {
        "id": param.id,
        "label": param.label(lang),
        "value": plain(value.value),
        "unit": param.unit,
        "valid_from": value.start.isoformat(),
        "valid_until": value.end.isoformat() if value.end else None,
        "clause": param.clause,
        "quote": param.quote,
        "reference": value.reference or param.reference,
    }


def reason_dict(
    trace: Trace,
    model: PolicyModel,
    lang: str,
    params: Mapping[str, ParameterValue],
    memo: dict[int, str] | None = None,
) -> dict[str, Any]:
    """One record per condition: as written, its outcome, the facts read, threshold, source."""
    cond = trace.condition
    record: dict[str, Any] = {
        "condition": cond.text,
        "kind": _kind(trace),
        "outcome": _OUTCOME[trace.outcome],
        "text": trace_sentence(trace, model, lang, memo),
    }
    source: dict[str, Any] = {
        "file": cond.location.file,
        "line": cond.location.line,
        "column": cond.location.column,
        "clause": cond.clause or None,
    }
    if cond.is_leaf:
        record["facts"] = {name: plain(value) for name, value in trace.facts.items()}
        record["threshold"] = _plain_threshold(trace.threshold)
        if isinstance(cond, Comparison):
            record["operator"] = cond.op
            used = cond.parameters()
            record["parameters"] = {
                name: plain(params[name].value) for name in used if name in params
            }
        elif isinstance(cond, Flag):
            record["operator"] = "is"
    else:
        if isinstance(cond, CategoryRef):
            category = model.categories[cond.category]
            record["category"] = category.id
            record["label"] = category.label(lang)
            source["category_clause"] = category.clause
            source["reference"] = category.reference
        record["parts"] = [reason_dict(p, model, lang, params, memo) for p in trace.parts]
    record["source"] = source
    return record


def _plain_threshold(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    return plain(value)


def _kind(trace: Trace) -> str:
    cond = trace.condition
    if isinstance(cond, Flag):
        return "fact"
    if isinstance(cond, Comparison):
        return "comparison"
    if isinstance(cond, CategoryRef):
        return "category"
    return cond.text  # all / any / not


def benefit_dict(
    result: BenefitResult, ev: Evaluation, lang: str, memo: dict[int, str] | None = None
) -> dict[str, Any]:
    model = ev.model
    b = result.benefit
    measure = model.measures_by_id[b.measure_id]
    params = [
        parameter_dict(model.parameters[p], ev.parameters[p], lang)
        for p in b.parameters
        if p in ev.parameters
    ]
    top = result.trace
    return {
        **_benefit_head(b, lang),
        "status": result.status.value,
        "status_label": status_word(result.status, lang),
        "summary": benefit_summary(result, model, lang, memo),
        "reasons": [reason_dict(t, model, lang, ev.parameters, memo) for t in top.parts]
        + _once_registered_reason(b, ev, lang),
        "missing": list(result.missing),
        "missing_labels": [model.fact_label(f, lang) for f in result.missing],
        "citation": citation(model, measure, b),
        "parameters": params,
        "reading": _pick(lang, b.reading_zh, b.reading_en),
        "amount_note": _pick(lang, b.amount_note_zh, b.amount_note_en),
        "estimate": estimate_dict(ev.estimates[b.id], b, lang, model),
        "estimate_note": estimate_reason(ev.estimates[b.id], b, model, ev.year, lang),
        "near_misses": [gap_dict(g, model, lang) for g in gaps(result)],
        "would_apply_once_registered": b.id in ev.once_registered,
        "source": {"file": b.location.file, "line": b.location.line, "column": b.location.column},
    }


def _once_registered_reason(benefit: Benefit, ev: Evaluation, lang: str) -> list[dict[str, Any]]:
    if benefit.id not in ev.once_registered or ev.precheck is None:
        return []
    method = ev.precheck.method
    text = (
        "预检显示可通过科技型中小企业评价：取得当年入库登记编号后即可适用"
        if lang != "en"
        else "would apply once registered: the pre-check says the enterprise qualifies for the tech-SME evaluation"
    )
    return [
        {
            "condition": "tech_sme_precheck",
            "kind": "precheck",
            "outcome": "true",
            "text": text,
            "source": {
                "file": method.location.file,
                "line": method.location.line,
                "column": method.location.column,
                "clause": method.clause,
            },
        }
    ]


def estimate_dict(
    result: EstimateResult, benefit: Benefit, lang: str, model: PolicyModel
) -> dict[str, Any] | None:
    """The estimate of a benefit in the JSON contract, or None when there is no amount."""
    if result.amount is None:
        return None
    spec = benefit.estimate
    case = next((c for c in spec.cases if c.formula_text == result.formula), None) if spec else None
    return {
        "amount": plain(result.amount),
        "currency": "CNY",
        "kind": result.kind,
        "formula": result.formula,
        "formula_text": formula_words(case.formula, model, lang) if case else result.formula,
        "inputs": {k: plain(v) for k, v in result.inputs.items()},
        "input_texts": [input_words(k, v, model, lang) for k, v in result.inputs.items()],
        "conditional": result.conditional,
        "conflicts_with": list(result.conflicts_with),
        "counted_in_total": result.counted,
        "note": _pick(lang, spec.note_zh, spec.note_en) if spec else None,
    }


def gap_dict(gap: Gap, model: PolicyModel, lang: str) -> dict[str, Any]:
    return {
        "condition": gap.trace.condition.text,
        "fact": gap.fact,
        "value": plain(gap.value) if gap.value is not None else None,
        "threshold": _plain_threshold(gap.threshold),
        "operator": gap.operator,
        "gap": plain(gap.gap) if gap.gap is not None else None,
        "direction": gap.direction,
        "unit": model.fact_unit(gap.fact) if gap.fact else None,
        "alternative": gap.alternatives,
        "text": gap_sentence(gap, model, lang),
    }


def precheck_dict(pre: PrecheckResult, model: PolicyModel, lang: str) -> dict[str, Any]:
    """The ``tech_sme_precheck`` block of the evaluation JSON."""
    method = pre.method
    smallest = pre.smallest_change
    return {
        "label": method.label(lang),
        "qualifies": pre.qualifies,
        "route": pre.route,
        "score": pre.score,
        "score_range": [pre.score_low, pre.score_high],
        "pass_score": plain(pre.pass_score),
        "scores": {i.indicator.id: i.points for i in pre.indicators},
        "indicators": [
            {
                "id": i.indicator.id,
                "label": i.indicator.label(lang),
                "points": i.points,
                "range": [i.low, i.high],
                "max_points": i.indicator.max_points,
                "sources": [
                    {
                        "numerator": s.source.numerator,
                        "denominator": s.source.denominator,
                        "tiers": s.source.tiers,
                        "counts": s.counts,
                        "measured": round(float(s.measured), 4) if s.measured is not None else None,
                        "unit": "%"
                        if s.source.denominator is not None
                        else model.fact_unit(s.source.numerator),
                        "points": s.low if s.low == s.high else None,
                        "unknown": list(s.unknown),
                        "text": source_sentence(s, model, lang),
                    }
                    for s in i.sources
                ],
            }
            for i in pre.indicators
        ],
        "basic_conditions": {n.id: t.outcome for n, t in pre.basic},
        "direct_routes": {n.id: t.outcome for n, t in pre.direct},
        "missing": list(pre.missing),
        "missing_labels": [model.fact_label(f, lang) for f in pre.missing],
        "reasons": precheck_reasons(pre, model, lang),
        "verdict": precheck_verdict(pre, model, lang),
        "smallest_change": change_dict(smallest, pre, model, lang) if smallest else None,
        "changes": [change_dict(c, pre, model, lang) for c in pre.changes],
        "reference": method.reference,
        "source": {
            "file": method.location.file,
            "line": method.location.line,
            "clause": method.clause,
        },
    }


def change_dict(
    change: Change, pre: PrecheckResult, model: PolicyModel, lang: str
) -> dict[str, Any]:
    return {
        "fact": change.fact,
        "label": model.fact_label(change.fact, lang),
        "from": plain(change.current),
        "to": plain(change.new),
        "delta": plain(change.delta),
        "unit": model.fact_unit(change.fact),
        "indicator": change.indicator,
        "points": change.points,
        "score": change.score,
        "text": change_sentence(change, pre, model, lang),
    }


def estimates_summary(ev: Evaluation) -> dict[str, Any]:
    statuses = {b.id: b.status for b in ev.benefits}
    by_kind = totals(ev.estimates, statuses)
    conflicts = []
    seen: set[frozenset[str]] = set()
    for result in ev.estimates.values():
        for other in result.conflicts_with:
            pair = frozenset((result.benefit_id, other))
            if pair in seen:
                continue
            seen.add(pair)
            kept = [x for x in sorted(pair) if ev.estimates[x].counted]
            conflicts.append({"benefits": sorted(pair), "counted": kept})
    return {
        "currency": "CNY",
        "total_by_kind": {kind: plain(amount) for kind, amount in sorted(by_kind.items())},
        "conflicts": conflicts,
    }


def _benefit_head(b: Benefit, lang: str) -> dict[str, Any]:
    """What every view of a benefit starts with: its id, measure, kind, title and description."""
    return {
        "id": b.id,
        "measure": b.measure_id,
        "kind": b.kind.value,
        "kind_label": BENEFIT_KIND_LABELS[b.kind][0 if lang != "en" else 1],
        "title": b.title(lang),
        "title_zh": b.title_zh,
        "title_en": b.title_en,
        "description": b.description(lang),
    }


def _measure_head(model: PolicyModel, m: Measure, lang: str) -> dict[str, Any]:
    """What every view of a measure starts with: its id, number, kind, part, audience and title."""
    return {
        "id": m.id,
        "number": m.number,
        "kind": m.kind.value,
        "part": _part_heading(model, m.part),
        "audience": m.audience.value,
        "audience_label": AUDIENCE_LABELS[m.audience][0 if lang != "en" else 1],
        "title": m.title(lang),
        "title_zh": m.title_zh,
        "title_en": m.title_en,
    }


def measure_dict(
    result: MeasureResult, ev: Evaluation, lang: str, memo: dict[int, str] | None = None
) -> dict[str, Any]:
    m = result.measure
    model = ev.model
    return {
        **_measure_head(model, m, lang),
        "status": result.status.value,
        "status_label": status_word(result.status, lang),
        "summary": measure_summary(result, model, lang),
        "missing": list(result.missing),
        "citation": citation(model, m, None),
        "benefits": [benefit_dict(b, ev, lang, memo) for b in result.benefits],
    }


def evaluation_to_dict(ev: Evaluation, lang: str = "zh") -> dict[str, Any]:
    """The evaluation JSON document (``policy-kb match --format json``)."""
    check_lang(lang)
    model = ev.model
    memo: dict[int, str] = {}
    counts_m = {s.value: sum(1 for m in ev.measures if m.status is s) for s in Status}
    counts_b = {s.value: sum(1 for b in ev.benefits if b.status is s) for s in Status}
    town = None
    if ev.town is not None and model.targets is not None:
        town = {
            "name": ev.town.name,
            "name_en": ev.town.name_en,
            "target": ev.town.target,
            "target_year": model.targets.year,
            "unit": model.targets.unit,
            "annex": model.targets.annex,
        }
    notes = []
    data_year = ev.profile.get("year")
    if data_year is not None and data_year != ev.year:
        notes.append(
            f"企业数据为{data_year}年数据，按要求以{ev.year}年评价。"
            if lang != "en"
            else f"The profile's data are for {data_year}; evaluated for {ev.year} as asked."
        )
    if ev.year != model.document.year:
        notes.append(
            f"本政策为{model.document.year}年政策；{ev.year}年按原文措施评价，参数取{ev.year}年有效值。"
            if lang != "en"
            else f"The policy is for {model.document.year}; for {ev.year} its measures are evaluated as written, "
            f"with the parameter values in force in {ev.year}."
        )
    return {
        "policy": policy_dict(model, lang),
        "year": ev.year,
        "lang": "en" if lang == "en" else "zh",
        "engine": ev.engine,
        "profile": {
            "name": ev.profile.name,
            "facts": {k: plain(v) for k, v in ev.profile.values.items()},
            "derived": {k: plain(v) for k, v in ev.derived.items()},
        },
        "town": town,
        "notes": notes,
        "summary": {
            "measures": counts_m,
            "benefits": counts_b,
            "applicable_benefits": [b.id for b in ev.benefits if b.status is Status.APPLIES],
            "undetermined_benefits": [b.id for b in ev.benefits if b.status is Status.UNDETERMINED],
        },
        "tech_sme_precheck": precheck_dict(ev.precheck, model, lang) if ev.precheck else None,
        "estimates": estimates_summary(ev),
        "to_supply": [
            {"fact": s.fact, "label": model.fact_label(s.fact, lang), "settles": list(s.settles)}
            for s in to_supply(ev)
        ],
        "measures": [measure_dict(m, ev, lang, memo) for m in ev.measures],
    }


def town_to_dict(te: TownEvaluation, lang: str = "zh") -> dict[str, Any]:
    """The JSON of ``policy-kb town NAME``."""
    check_lang(lang)
    model = te.model
    table = model.targets
    assert table is not None
    rows = sum(t.target for t in table.towns)
    return {
        "policy": policy_dict(model, lang),
        "town": {
            "name": te.town.name,
            "name_en": te.town.name_en,
            "seq": te.town.seq,
            "target": te.town.target,
            "target_year": table.year,
            "unit": table.unit,
            "annex": table.annex,
        },
        "district": {"towns": len(table.towns), "total": table.total, "rows_sum": rows},
        "measures": [
            {
                "id": r.measure.id,
                "number": r.measure.number,
                "kind": r.measure.kind.value,
                "audience": r.measure.audience.value,
                "title": r.measure.title(lang),
                "status": r.status.value,
                "status_label": status_word(r.status, lang),
                "summary": town_measure_sentence(
                    r.status, r.measure.audience, r.target, table.unit, lang
                ),
                "target": r.target,
                "citation": citation(model, r.measure, None),
            }
            for r in te.measures
        ],
    }


def catalogue_to_dict(model: PolicyModel, lang: str = "zh") -> dict[str, Any]:
    """The measure catalogue (``policy-kb measures --format json``): no profile needed."""
    check_lang(lang)
    return {
        "policy": policy_dict(model, lang),
        "measures": [
            {
                "id": m.id,
                "number": m.number,
                "kind": m.kind.value,
                "part": _part_heading(model, m.part),
                "audience": m.audience.value,
                "title": m.title(lang),
                "title_zh": m.title_zh,
                "title_en": m.title_en,
                "text": m.text,
                "benefits": [
                    {
                        "id": b.id,
                        "kind": b.kind.value,
                        "title": b.title(lang),
                        "description": b.description(lang),
                        "quote": b.quote,
                        "conditions": _conditions_as_written(b.condition, top=True),
                        "parameters": list(b.parameters),
                    }
                    for b in m.benefits
                ],
            }
            for m in model.measures
        ],
        "targets": None
        if model.targets is None
        else {
            "annex": model.targets.annex,
            "year": model.targets.year,
            "unit": model.targets.unit,
            "towns": [
                {"seq": t.seq, "name": t.name, "name_en": t.name_en, "target": t.target}
                for t in model.targets.towns
            ],
            "total": model.targets.total,
        },
    }


def _conditions_as_written(condition: Any, top: bool = False) -> Any:
    """A condition tree back in the shape of measures.yaml (texts and all/any/not)."""
    if condition.is_leaf or isinstance(condition, CategoryRef):
        return condition.text
    parts = [_conditions_as_written(c) for c in children(condition)]
    if top:
        return parts
    if condition.text == "not":
        return {"not": parts[0]}
    return {condition.text: parts}


def lint_to_dict(report: LintReport, model: PolicyModel, lang: str = "zh") -> dict[str, Any]:
    """The JSON of ``policy-kb lint --format json``."""
    check_lang(lang)
    return {
        "policy": policy_dict(model, lang),
        "year": report.year,
        "reasoner": "HermiT (owlready2)",
        "ok": not report.errors,
        "checked": dict(report.checked),
        "findings": [
            {
                "severity": f.severity,
                "file": f.location.file,
                "line": f.location.line,
                "column": f.location.column,
                "message": f.message,
                "expected": f.expected,
            }
            for f in report.findings
        ],
        "implications": [
            {
                "benefit": i.benefit,
                "line": i.location.line,
                "categories": list(i.categories),
                "facts": list(i.facts),
                "benefits": list(i.benefits),
            }
            for i in report.implications
        ],
    }


def parameter_history(param: Parameter, lang: str = "zh") -> dict[str, Any]:
    """A parameter with every dated value (the catalogue's view, independent of a year)."""
    return {
        "id": param.id,
        "label": param.label(lang),
        "unit": param.unit,
        "clause": param.clause,
        "quote": param.quote,
        "reference": param.reference,
        "values": [
            {
                "from": v.start.isoformat(),
                "until": v.end.isoformat() if v.end else None,
                "value": plain(v.value) if v.value is not None else None,
                "tiers": [{"at_least": plain(t.at_least), "points": t.points} for t in v.tiers]
                or None,
                "reference": v.reference,
            }
            for v in param.values
        ],
    }


def benefit_detail(model: PolicyModel, benefit_id: str, lang: str = "zh") -> dict[str, Any]:
    """One benefit as the catalogue shows it: clause, conditions as written, parameters, formula."""
    check_lang(lang)
    b = model.benefits[benefit_id]
    measure = model.measures_by_id[b.measure_id]
    estimate = None
    if b.estimate is not None:
        estimate = {
            "kind": b.estimate.kind,
            "cases": [
                {"when": c.when.text if c.when else None, "formula": c.formula_text}
                for c in b.estimate.cases
            ],
            "note": _pick(lang, b.estimate.note_zh, b.estimate.note_en),
        }
    return {
        **_benefit_head(b, lang),
        "number": measure.number,
        "quote": b.quote,
        "clause": measure.text,
        "citation": citation(model, measure, b),
        "conditions": _conditions_as_written(b.condition, top=True),
        "parameters": [parameter_history(model.parameters[p], lang) for p in b.parameters],
        "estimate": estimate,
        "amount_note": _pick(lang, b.amount_note_zh, b.amount_note_en),
        "reading": _pick(lang, b.reading_zh, b.reading_en),
        "implies": list(b.implies),
        "not_combinable_with": list(b.not_combinable_with),
        "source": {"file": b.location.file, "line": b.location.line, "column": b.location.column},
    }


def measure_detail(model: PolicyModel, measure_id: str, lang: str = "zh") -> dict[str, Any]:
    """One measure with its clause text and the full detail of each benefit."""
    check_lang(lang)
    m = model.measures_by_id[measure_id]
    return {
        **_measure_head(model, m, lang),
        "text": m.text,
        "citation": citation(model, m, None),
        "targets": m.targets,
        "benefits": [benefit_detail(model, b.id, lang) for b in m.benefits],
        "source": {"file": m.location.file, "line": m.location.line, "column": m.location.column},
    }


def facts_form(model: PolicyModel, lang: str = "zh") -> dict[str, Any]:
    """The facts a profile may carry, by form group: what a form needs to draw itself.

    Derived facts are left out (they are computed). A town fact lists the towns of 附件2.
    """
    check_lang(lang)
    towns = model.targets.towns if model.targets else ()
    groups = []
    for group, facts in model.form_groups():
        fields = []
        for fact in facts:
            field: dict[str, Any] = {
                "id": fact.id,
                "label": fact.label(lang),
                "type": fact.type.value,
                "unit": fact.unit,
                "min": fact.minimum,
                "max": fact.maximum,
                "help": fact.help(lang),
            }
            if fact.type.value == "town":
                field["choices"] = [
                    {"value": t.name, "label": t.name if lang == "zh" else (t.name_en or t.name)}
                    for t in towns
                ]
            fields.append(field)
        groups.append({"name": group.name, "label": group.label(lang), "facts": fields})
    return {"lang": lang, "groups": groups}


def towns_to_dict(model: PolicyModel, lang: str = "zh") -> dict[str, Any]:
    """The 附件2 table: every town and its target, the printed total and the sum of the rows."""
    check_lang(lang)
    table = model.targets
    if table is None:
        return {"towns": [], "total": None, "rows_sum": 0}
    return {
        "annex": table.annex,
        "title": table.title_zh if lang != "en" else (table.title_en or table.title_zh),
        "year": table.year,
        "unit": table.unit,
        "towns": [
            {"seq": t.seq, "name": t.name, "name_en": t.name_en, "target": t.target}
            for t in table.towns
        ],
        "total": table.total,
        "rows_sum": sum(t.target for t in table.towns),
    }
