"""The public JSON contract: evaluations, towns and the measure catalogue as plain dicts.

The ids, status words and the keys named in the contract (``policy``, ``year``, ``measures``,
``id``, ``number``, ``kind``, ``audience``, ``title``, ``status``, ``benefits``, ``reasons``,
``missing``, ``citation``) are public: keys may be added, never renamed. The shape is described
by ``schemas/evaluation.schema.json``, which the tests check every output against.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

from ..backends.trace import Trace
from ..policy.model import (
    PRECHECK,
    Benefit,
    EvidenceType,
    Measure,
    Parameter,
    ParameterValue,
    PolicyModel,
    Status,
)
from ..reason import evidence as proof
from ..reason.nearmiss import Gap, gaps, to_supply
from ..reason.results import (
    BenefitResult,
    Change,
    EstimateResult,
    Evaluation,
    MeasureResult,
    PrecheckResult,
    TownEvaluation,
)
from ..rules.tree import CategoryRef, Comparison, Condition, Flag
from ..rules.walk import as_written, walk
from ..text import Text, plain, say
from . import words

_OUTCOME = {True: "true", False: "false", None: "unknown"}
_NUMBERS = (int, float, Decimal, Fraction)
_VALUE = {s: s.value for s in Status}  # a status as the contract writes it


def dumps(data: Any, indent: int | None = 2) -> bytes:
    """JSON bytes as every surface writes them: UTF-8, Chinese unescaped, two-space indent.

    orjson gives the same bytes as ``json.dumps(data, ensure_ascii=False, indent=2)``, many times
    faster, so the CLI and the HTTP service answer with identical documents. (Imported here: a
    table on the terminal needs no JSON, and orjson brings ``uuid`` and ``platform`` along.)
    """
    import orjson

    return orjson.dumps(data, option=orjson.OPT_INDENT_2 if indent else 0)


def _pick(lang: str, text: Text | None) -> str | None:
    return None if text is None else text[lang]


def _copied(value: Any) -> Any:
    """A fresh copy of a kept part (dicts and lists; the leaves are immutable)."""
    if type(value) is dict:
        return {k: _copied(v) for k, v in value.items()}
    if type(value) is list:
        return [_copied(v) for v in value]
    if type(value) is tuple:
        return tuple(_copied(v) for v in value)
    return value


class _Parts:
    """What one evaluation's document is built with: its sentences, and the parts that depend on
    the policy, the language and the year alone — built once and kept by the compiled plan, so a
    thousand answers build them once. ``share`` hands out the kept objects themselves (for a
    document that is serialised at once); otherwise each caller gets its own copy."""

    __slots__ = ("ev", "lang", "memo", "model", "params", "share", "table")

    def __init__(self, ev: Evaluation, lang: str, share: bool) -> None:
        self.ev = ev
        self.model = ev.model
        self.lang = lang
        self.params = ev.parameters
        self.memo: dict[int, str] = {}
        self.table: dict[Any, Any] = ev.record.plan.static if ev.record is not None else {}
        self.share = share

    def kept(self, key: Any, build: Any) -> Any:
        found = self.table.get(key)
        if found is None:
            found = self.table[key] = build()
        return found if self.share else _copied(found)

    def out(self, found: Any) -> Any:
        """A kept part as this document holds it: itself, or a copy (see the class)."""
        return found if self.share else _copied(found)

    def settled(self, result: BenefitResult) -> tuple[Any, ...]:
        """The outcomes of every condition of a benefit (categories followed) and which of
        their facts are unknown: what its application depends on besides its status."""
        record = result.trace.record
        cond = result.trace.node
        key = ("settled by", id(cond))
        found: tuple[tuple[int, ...], tuple[str, ...]] | None = self.table.get(key)
        if found is None:
            model = self.model
            categories = {k: c.condition for k, c in model.categories.items()}
            nodes = [n for n in walk(cond, categories) if isinstance(n, Condition)]
            read = {
                f: None
                for n in nodes
                for name in proof.leaf_facts(n)
                for f in proof.inputs(model, name)
            }
            found = self.table[key] = (
                tuple(record.plan.slots[id(n)] for n in nodes),
                tuple(read),
            )
        slots, facts = found
        v, values = record.v, record.values
        return (
            tuple([x if x is True or x is False else None for x in map(v.__getitem__, slots)]),
            tuple([values.get(f) is None for f in facts]),
        )

    def condition(self, cond: Condition) -> _Condition:
        """What ``cond``'s record says whatever the profile, in this language and year (kept)."""
        key = ("condition", id(cond), self.lang, self.ev.year)
        found: _Condition | None = self.table.get(key)
        if found is None:
            found = self.table[key] = _Condition(cond, self)
        return found


def policy_dict(model: PolicyModel, lang: str) -> dict[str, Any]:
    doc = model.document
    return {
        "id": doc.id,
        "title": doc.title[lang],
        "title_zh": doc.title.zh,
        "title_en": doc.title.en,
        "issuer": _pick(lang, doc.issuer),
        "year": doc.year,
        "iri": doc.iri,
        "measures_file": model.file,
        "measures_sha256": model.sha256,
    }


def citation(model: PolicyModel, measure: Measure, benefit: Benefit | None) -> dict[str, Any]:
    """Where the text says so: the measure number, the verbatim sentence, the whole clause."""
    return {
        "document": model.document.title.zh,
        "measure": measure.id,
        "number": measure.number,
        "part": model.document.heading_of(measure.part),
        "title": measure.title.zh,
        "text": benefit.quote if benefit else measure.text,
        "clause": measure.text,
    }


def _source(location: Any, **extra: Any) -> dict[str, Any]:
    return {"file": location.file, "line": location.line, "column": location.column, **extra}


def parameter_dict(param: Parameter, value: ParameterValue, lang: str) -> dict[str, Any]:
    return {
        "id": param.id,
        "label": param.label[lang],
        "value": plain(value.value),
        "unit": param.unit,
        "valid_from": value.start.isoformat(),
        "valid_until": value.end.isoformat() if value.end else None,
        "clause": param.clause,
        "quote": param.quote,
        "reference": _in(value.reference or param.reference, lang),
    }


def reason_dict(trace: Trace, parts: _Parts) -> dict[str, Any]:
    """One record per condition: as written, its outcome, the facts read, threshold, source.

    What a record says whatever the profile is worked out once per condition, language and year
    (:class:`_Condition`). A record that depends on yes / no facts alone (a flag, or a group made
    only of flags, up to :data:`_KEPT_LEAVES` of them) is the same in every answer that gives
    those facts the same values: it is built once and kept by the plan, under its
    :meth:`_Condition.key`; the others are built for each answer.
    """
    said = parts.condition(trace.node)
    key = said.key(trace)
    if key is None:
        return said.record(trace, parts)
    found: dict[str, Any] = parts.kept(key, lambda: said.record(trace, parts))
    # its sentence is this answer's too: the benefit's summary says it again
    parts.memo.setdefault(id(trace.node), found["text"])
    return found


_KEPT_LEAVES = 6  # a group of n flags has at most 3ⁿ records: 729 kept at most per group


class _Condition:
    """What a condition's record says whatever the profile, in one language and year: its kind,
    its source, its operator and parameters (a leaf), its id and label (a category), the
    evidence of its facts (a leaf), and the flags it is made of when it is made of flags only
    and of at most :data:`_KEPT_LEAVES` of them (else ())."""

    __slots__ = ("cond", "evidence", "extra", "flags", "kind", "lang", "leaf", "source", "year")

    def __init__(self, cond: Condition, parts: _Parts) -> None:
        model, lang = parts.model, parts.lang
        self.cond, self.lang, self.year, self.leaf = cond, lang, parts.ev.year, cond.is_leaf
        self.kind = (
            "fact"
            if isinstance(cond, Flag)
            else "comparison"
            if isinstance(cond, Comparison)
            else "category"
            if isinstance(cond, CategoryRef)
            else cond.text
        )
        self.source = _source(cond.location, clause=cond.clause or None)
        self.extra: dict[str, Any] = {}
        params = parts.params
        if self.leaf:
            if isinstance(cond, Comparison):
                self.extra["operator"] = cond.op
                self.extra["parameters"] = {
                    name: plain(params[name].value) for name in cond.parameters() if name in params
                }
            else:
                self.extra["operator"] = "is"
        elif isinstance(cond, CategoryRef):
            category = model.categories[cond.category]
            self.extra["category"] = category.id
            self.extra["label"] = category.label[lang]
            self.source["category_clause"] = category.clause
            self.source["reference"] = _in(category.reference, lang)
        self.evidence = (
            [
                evidence_dict(k, model, lang)
                for k in proof.evidence_of(model, proof.leaf_facts(cond))
            ]
            if self.leaf
            else []
        )
        categories = {k: c.condition for k, c in model.categories.items()}
        leaves = [n for n in walk(cond, categories) if isinstance(n, Condition) and n.is_leaf]
        flags = [n.fact for n in leaves if type(n) is Flag and n.fact in model.facts]
        self.flags = (
            tuple(flags) if len(flags) == len(leaves) and len(leaves) <= _KEPT_LEAVES else ()
        )

    def key(self, trace: Trace) -> tuple[Any, ...] | None:
        """What the record depends on when that is a few yes / no / unknown facts: the
        condition, the language, the year and the values of the flags under it; else None."""
        if not self.flags:
            return None
        values = trace.record.values
        key: list[Any] = [id(self.cond), self.lang, self.year]
        for name in self.flags:
            value = values.get(name)
            if value is not None and value is not True and value is not False:
                return None
            key.append(value)
        return tuple(key)

    def record(self, trace: Trace, parts: _Parts) -> dict[str, Any]:
        cond, out = self.cond, parts.out
        text = words.trace_sentence(trace, parts.model, self.lang, parts.memo)
        if self.leaf:
            threshold = trace.threshold
            return {
                "condition": cond.text,
                "kind": self.kind,
                "outcome": _OUTCOME[trace.outcome],
                "text": text,
                "facts": {name: plain(value) for name, value in trace.facts.items()},
                "threshold": list(threshold) if isinstance(threshold, tuple) else plain(threshold),
                **out(self.extra),
                "evidence": out(self.evidence),
                "source": out(self.source),
            }
        return {
            "condition": cond.text,
            "kind": self.kind,
            "outcome": _OUTCOME[trace.outcome],
            "text": text,
            **out(self.extra),
            "parts": [reason_dict(p, parts) for p in trace.parts],
            "source": out(self.source),
        }


def evidence_dict(kind: EvidenceType, model: PolicyModel, lang: str) -> dict[str, Any]:
    """One evidence type as an answer names it: what it is, who holds it, whether the government
    already does (true / false / null: not established)."""
    holder = model.holders.get(kind.holder)
    return {
        "id": kind.id,
        "label": kind.label[lang],
        "holder": kind.holder,
        "holder_label": holder.label[lang] if holder is not None else kind.holder,
        "held_by_government": kind.held,
        "facts": list(kind.proves),
    }


def application_dict(found: proof.Application, model: PolicyModel, lang: str) -> dict[str, Any]:
    """``application`` of a benefit (or the materials of the evaluation)."""
    return {
        "mode": found.mode,
        "mode_label": say(lang, f"application.{found.mode}"),
        "documents": [evidence_dict(k, model, lang) for k in found.documents],
        "government_data": [evidence_dict(k, model, lang) for k in found.government],
        "data_requests": [
            {
                "fact": fact,
                "label": model.facts[fact].label[lang],
                "evidence": [
                    evidence_dict(k, model, lang) for k in proof.evidence_of(model, (fact,))
                ],
            }
            for fact in found.requests
        ],
    }


def _application(result: BenefitResult, parts: _Parts) -> dict[str, Any]:
    """:func:`application_dict` of a benefit, kept: how a benefit is granted follows from its
    status, the outcomes of its conditions and which of their facts are unknown
    (:func:`policy_kb.reason.evidence.application`), which few answers do not share."""
    key = ("application", result.benefit.id, result.status, parts.settled(result), parts.lang)
    kept: dict[str, Any] = parts.kept(
        key,
        lambda: application_dict(
            proof.application(parts.model, result.status, result.trace), parts.model, parts.lang
        ),
    )
    return kept


def benefit_head(b: Benefit, lang: str) -> dict[str, Any]:
    """What every view of a benefit starts with: its id, measure, kind, title and description."""
    return {
        "id": b.id,
        "measure": b.measure_id,
        "kind": b.kind.value,
        "kind_label": words.kind_word(b.kind, lang),
        "title": b.title[lang],
        "title_zh": b.title.zh,
        "title_en": b.title.en,
        "description": b.description[lang],
    }


def measure_head(model: PolicyModel, m: Measure, lang: str) -> dict[str, Any]:
    """What every view of a measure starts with: its id, number, kind, part, audience and title."""
    return {
        "id": m.id,
        "number": m.number,
        "kind": m.kind.value,
        "part": model.document.heading_of(m.part),
        "audience": m.audience.value,
        "audience_label": words.audience_word(m.audience, lang),
        "title": m.title[lang],
        "title_zh": m.title.zh,
        "title_en": m.title.en,
    }


def benefit_dict(result: BenefitResult, parts: _Parts) -> dict[str, Any]:
    """A benefit's block of the answer. A benefit with no estimate whose condition depends on a
    few yes / no facts alone (see :func:`reason_dict`) has the same block in every answer with
    the same values of those facts: it is built once and kept, like those records."""
    b = result.benefit
    if b.estimate is None:
        key = parts.condition(result.trace.node).key(result.trace)
        if key is not None:
            found: dict[str, Any] = parts.kept(
                (
                    "benefit record",
                    key,
                    result.status,
                    result.missing,
                    b.id in parts.ev.once_registered,
                    parts.lang,
                    parts.ev.year,
                ),
                lambda: _benefit_record(result, parts),
            )
            return found
    return _benefit_record(result, parts)


def _benefit_record(result: BenefitResult, parts: _Parts) -> dict[str, Any]:
    """A benefit's block: what follows from its status, its missing facts, how its conditions
    came out (:meth:`_Parts.settled`), whether it would apply once registered and why it has no
    amount is kept by the plan (:func:`_benefit_fixed`); the reasons, the summary, the estimate
    and the near misses, which say the profile's numbers, are written for each answer."""
    ev = parts.ev
    b = result.benefit
    once = b.id in ev.once_registered
    est = ev.estimates[b.id]
    key = (
        "benefit fixed",
        b.id,
        result.status,
        result.missing,
        once,
        parts.settled(result),
        est.amount is None,
        est.reason,
        est.missing,
        est.parameter,
        parts.lang,
        ev.year,
    )
    fixed: dict[str, Any] | None = parts.table.get(key)
    if fixed is None:
        fixed = parts.table[key] = _benefit_fixed(result, parts, once)
    record = dict(fixed) if parts.share else _copied(fixed)
    record["reasons"] = [reason_dict(t, parts) for t in result.trace.parts] + record["reasons"]
    record["summary"] = words.benefit_summary(result, parts.model, parts.lang, parts.memo)
    record["estimate"] = estimate_dict(est, b, parts.lang, parts.model, parts)
    record["near_misses"] = [_gap(g, parts) for g in gaps(result)]
    return record


def _benefit_fixed(result: BenefitResult, parts: _Parts, once: bool) -> dict[str, Any]:
    """A benefit's block in the contract's order, with what depends on the profile's numbers
    left empty (the reasons hold the pre-check's reason of a benefit that would apply once the
    enterprise is registered; :func:`_benefit_record` puts the conditions' before it)."""
    ev, model, lang = parts.ev, parts.model, parts.lang
    b = result.benefit
    tail: list[dict[str, Any]] = []
    if once and ev.precheck is not None:
        method = ev.precheck.method
        tail.append(
            {
                "condition": PRECHECK,
                "kind": "precheck",
                "outcome": "true",
                "text": say(lang, "once_registered.reason"),
                "source": {
                    "file": method.location.file,
                    "line": method.location.line,
                    "column": method.location.column,
                    "clause": method.clause,
                },
            }
        )
    return {
        **benefit_head(b, lang),
        "status": result.status.value,
        "status_label": words.status_word(result.status, lang),
        "summary": None,
        "reasons": tail,
        "missing": list(result.missing),
        "missing_labels": [model.fact_label(f)[lang] for f in result.missing],
        "citation": parts.kept(
            ("citation", b.id), lambda: citation(model, model.measures_by_id[b.measure_id], b)
        ),
        "parameters": [
            parameter_dict(model.parameters[p], ev.parameters[p], lang)
            for p in b.parameters
            if p in ev.parameters
        ],
        "reading": _pick(lang, b.reading),
        "amount_note": _pick(lang, b.amount_note),
        "estimate": None,
        "estimate_note": words.estimate_reason(ev.estimates[b.id], b, model, ev.year, lang),
        "near_misses": None,
        "would_apply_once_registered": once,
        "application": _application(result, parts),
        "source": _source(b.location),
    }


def estimate_dict(
    result: EstimateResult,
    benefit: Benefit,
    lang: str,
    model: PolicyModel,
    parts: _Parts | None = None,
) -> dict[str, Any] | None:
    """The estimate of a benefit in the JSON contract, or None when there is no amount (the
    formula in words is written once per case and language when ``parts`` keeps it)."""
    if result.amount is None:
        return None
    spec = benefit.estimate
    case = spec.cases[result.case] if spec is not None and result.case is not None else None
    if case is None:
        formula_text = result.formula
    elif parts is None:
        formula_text = words.formula_words(case.formula, model, lang)
    else:
        formula_text = parts.kept(
            ("formula words", id(case), lang),
            lambda: words.formula_words(case.formula, model, lang),
        )
    return {
        "amount": plain(result.amount),
        "currency": "CNY",
        "kind": result.kind,
        "formula": result.formula,
        "formula_text": formula_text,
        "inputs": {k: plain(v) for k, v in result.inputs.items()},
        "input_texts": [_input_words(k, v, model, lang, parts) for k, v in result.inputs.items()],
        "conditional": result.conditional,
        "conflicts_with": list(result.conflicts_with),
        "counted_in_total": result.counted,
        "note": _pick(lang, spec.note) if spec else None,
    }


def _input_words(name: str, value: Any, model: PolicyModel, lang: str, parts: _Parts | None) -> str:
    """An estimate's input in words; a parameter's is the same in every answer of a year: kept."""
    if parts is None or name not in model.parameters or not isinstance(value, _NUMBERS):
        return words.input_words(name, value, model, lang)
    found: str = parts.kept(
        ("input words", name, value, lang), lambda: words.input_words(name, value, model, lang)
    )
    return found


def gap_dict(gap: Gap, model: PolicyModel, lang: str) -> dict[str, Any]:
    threshold = gap.threshold
    return {
        "condition": gap.trace.condition.text,
        "fact": gap.fact,
        "value": plain(gap.value) if gap.value is not None else None,
        "threshold": list(threshold) if isinstance(threshold, tuple) else plain(threshold),
        "operator": gap.operator,
        "gap": plain(gap.gap) if gap.gap is not None else None,
        "direction": gap.direction,
        "unit": model.fact_unit(gap.fact) if gap.fact else None,
        "alternative": gap.alternatives,
        "text": words.gap_sentence(gap, model, lang),
    }


def _gap(gap: Gap, parts: _Parts) -> dict[str, Any]:
    """:func:`gap_dict`, kept for a failing yes / no fact: its record then depends on the
    condition, the value and whether it is one of several alternatives alone."""
    if gap.direction != "flag" or gap.operator != "is":
        return gap_dict(gap, parts.model, parts.lang)
    key = ("flag gap", id(gap.trace.condition), gap.value, gap.alternatives, parts.lang)
    kept: dict[str, Any] = parts.kept(key, lambda: gap_dict(gap, parts.model, parts.lang))
    return kept


def precheck_dict(
    pre: PrecheckResult,
    model: PolicyModel,
    lang: str,
    values: Mapping[str, Any] | None = None,
    parts: _Parts | None = None,
) -> dict[str, Any]:
    """The ``tech_sme_precheck`` block of the evaluation JSON (with ``parts``, what depends on
    the policy and the language alone is built once and kept)."""
    method = pre.method
    smallest = pre.smallest_change

    def materials() -> dict[str, Any]:
        return application_dict(proof.materials(model, values or {}), model, lang)

    table = parts.table if parts is not None else None
    said = {
        id(s): words.source_sentence(s, model, lang, table)
        for i in pre.indicators
        for s in i.sources
    }
    reasons = words.precheck_reasons(pre, model, lang, said)
    return {
        "label": method.label[lang],
        "qualifies": pre.qualifies,
        "route": pre.route,
        "score": pre.score,
        "score_range": [pre.score_low, pre.score_high],
        "pass_score": plain(pre.pass_score),
        "scores": {i.indicator.id: i.points for i in pre.indicators},
        "indicators": [
            {
                "id": i.indicator.id,
                "label": i.indicator.label[lang],
                "points": i.points,
                "range": [i.low, i.high],
                "max_points": i.indicator.max_points,
                "sources": [
                    {
                        "numerator": str(s.source.numerator),
                        "denominator": str(s.source.denominator)
                        if s.source.denominator is not None
                        else None,
                        "tiers": s.source.table,
                        "counts": s.counts,
                        "measured": round(float(s.measured), 4) if s.measured is not None else None,
                        "unit": "%"
                        if s.source.denominator is not None
                        else model.fact_unit(str(s.source.numerator)),
                        "points": s.low if s.low == s.high else None,
                        "unknown": list(s.unknown),
                        "text": said[id(s)],
                    }
                    for s in i.sources
                ],
            }
            for i in pre.indicators
        ],
        "basic_conditions": {n.id: t.outcome for n, t in pre.basic},
        "direct_routes": {n.id: t.outcome for n, t in pre.direct},
        "missing": list(pre.missing),
        "missing_labels": [model.fact_label(f)[lang] for f in pre.missing],
        "reasons": reasons,
        "verdict": reasons[-1],  # the score card ends with the verdict
        "smallest_change": change_dict(smallest, pre, model, lang) if smallest else None,
        "changes": [change_dict(c, pre, model, lang) for c in pre.changes],
        "reference": _in(method.reference, lang),
        "source": {
            "file": method.location.file,
            "line": method.location.line,
            "clause": method.clause,
        },
        "materials": materials()
        if parts is None
        else parts.kept(("materials", proof.established(model, values), lang), materials),
    }


def change_dict(
    change: Change, pre: PrecheckResult, model: PolicyModel, lang: str
) -> dict[str, Any]:
    return {
        "fact": change.fact,
        "label": model.fact_label(change.fact)[lang],
        "from": plain(change.current),
        "to": plain(change.new),
        "delta": plain(change.delta),
        "unit": model.fact_unit(change.fact),
        "indicator": change.indicator,
        "points": change.points,
        "score": change.score,
        "text": words.change_sentence(change, pre.method, model, lang),
    }


def estimates_summary(ev: Evaluation) -> dict[str, Any]:
    conflicts = []
    seen: set[frozenset[str]] = set()
    for result in ev.estimates.values():
        for other in result.conflicts_with:
            pair = frozenset((result.benefit_id, other))
            if pair not in seen:
                seen.add(pair)
                conflicts.append(
                    {
                        "benefits": sorted(pair),
                        "counted": [x for x in sorted(pair) if ev.estimates[x].counted],
                    }
                )
    return {
        "currency": "CNY",
        "total_by_kind": {kind: plain(amount) for kind, amount in sorted(ev.totals().items())},
        "unknown_by_kind": dict(sorted(ev.unknown_amounts().items())),
        "conflicts": conflicts,
    }


def measure_dict(result: MeasureResult, parts: _Parts) -> dict[str, Any]:
    m, model, lang = result.measure, parts.model, parts.lang
    head, cited = parts.kept(
        ("measure head", m.id, lang),
        lambda: (measure_head(model, m, lang), citation(model, m, None)),
    )
    status, label, summary = parts.kept(  # what a measure says follows from its statuses alone
        ("measure status", m.id, result.status, tuple([b.status for b in result.benefits]), lang),
        lambda: (
            result.status.value,
            words.status_word(result.status, lang),
            words.measure_summary(result, model, lang),
        ),
    )
    return {
        **head,
        "status": status,
        "status_label": label,
        "summary": summary,
        "missing": list(result.missing),
        "citation": cited,
        "benefits": [benefit_dict(b, parts) for b in result.benefits],
    }


def evaluation_to_dict(ev: Evaluation, lang: str = "zh", share: bool = False) -> dict[str, Any]:
    """The evaluation JSON document (``policy-kb match --format json``).

    ``share=True`` is for a document that is serialised at once (:func:`evaluation_json`): the
    parts that are the same in every answer are the kept objects themselves, not copies.
    """
    model = ev.model
    parts = _Parts(ev, lang, share)
    town = None
    if ev.town is not None and model.targets is not None:
        t = model.targets
        town = {
            "name": ev.town.name,
            "name_en": ev.town.name_en,
            "target": ev.town.target,
            "target_year": t.year,
            "unit": t.unit,
            "annex": t.annex,
        }
    return {
        "policy": parts.kept(("policy", lang), lambda: policy_dict(model, lang)),
        "year": ev.year,
        "lang": lang,
        "engine": ev.engine,
        "profile": {
            "name": ev.profile.name,
            "facts": {k: plain(v) for k, v in ev.profile.values.items()},
            "derived": {k: plain(v) for k, v in ev.derived.items()},
        },
        "town": town,
        "notes": [note.render(lang) for note in ev.notes()],
        "summary": _counts(ev),
        PRECHECK: precheck_dict(ev.precheck, model, lang, ev.profile.values, parts)
        if ev.precheck
        else None,
        "estimates": estimates_summary(ev),
        "to_supply": [
            {"fact": s.fact, "label": model.fact_label(s.fact)[lang], "settles": list(s.settles)}
            for s in to_supply(ev)
        ],
        "measures": [measure_dict(m, parts) for m in ev.measures],
    }


def evaluation_json(ev: Evaluation, lang: str = "zh", detail: str = "full") -> bytes:
    """The evaluation document as the bytes every surface writes (see :func:`dumps`)."""
    if detail == "summary":
        return dumps(evaluation_summary(ev, lang))
    return dumps(evaluation_to_dict(ev, lang, share=True))


DETAILS = ("full", "summary")
"""How much an evaluation answer carries: ``full`` (the default, the whole contract) or
``summary`` (statuses, missing facts, amounts and citation ids: what a program deciding on the
answer needs, a few kilobytes instead of about a hundred)."""


def evaluation_summary(ev: Evaluation, lang: str = "zh") -> dict[str, Any]:
    """The ``detail=summary`` answer: the same statuses, missing facts and amounts as the full
    document, with citations by id (the full document or ``GET /v1/benefits/{id}`` has the text)."""
    model = ev.model
    pre = ev.precheck
    estimates = ev.estimates
    benefits = []
    for m in ev.measures:
        mid = m.measure.id
        cited = {"measure": mid, "number": m.measure.number}
        for b in m.benefits:
            bid = b.benefit.id
            est = estimates[bid]
            known = est.amount is not None
            benefits.append(
                {
                    "id": bid,
                    "measure": mid,
                    "status": _VALUE[b.status],
                    "missing": list(b.missing),
                    "amount": plain(est.amount) if known else None,
                    "amount_kind": est.kind if known else None,
                    "conditional": est.conditional,
                    "counted_in_total": est.counted,
                    "citation": dict(cited),
                }
            )
    return {
        "detail": "summary",
        "policy": {"id": model.document.id, "measures_sha256": model.sha256},
        "year": ev.year,
        "lang": lang,
        "engine": ev.engine,
        "profile": {"name": ev.profile.name},
        "notes": [note.render(lang) for note in ev.notes()],
        "summary": _counts(ev),
        PRECHECK: {
            "qualifies": pre.qualifies,
            "route": pre.route,
            "score": pre.score,
            "score_range": [pre.score_low, pre.score_high],
            "pass_score": plain(pre.pass_score),
            "missing": list(pre.missing),
        }
        if pre is not None
        else None,
        "estimates": {
            "currency": "CNY",
            "total_by_kind": {kind: plain(amount) for kind, amount in sorted(ev.totals().items())},
            "unknown_by_kind": dict(sorted(ev.unknown_amounts().items())),
        },
        "measures": [
            {"id": m.measure.id, "status": _VALUE[m.status], "missing": list(m.missing)}
            for m in ev.measures
        ],
        "benefits": benefits,
    }


def _counts(ev: Evaluation) -> dict[str, Any]:
    measures = dict.fromkeys(_VALUE.values(), 0)
    for m in ev.measures:
        measures[_VALUE[m.status]] += 1
    benefits = dict.fromkeys(_VALUE.values(), 0)
    applicable, undetermined = [], []
    for b in ev.benefits:
        status = b.status
        benefits[_VALUE[status]] += 1
        if status is Status.APPLIES:
            applicable.append(b.benefit.id)
        elif status is Status.UNDETERMINED:
            undetermined.append(b.benefit.id)
    return {
        "measures": measures,
        "benefits": benefits,
        "applicable_benefits": applicable,
        "undetermined_benefits": undetermined,
    }


def town_to_dict(te: TownEvaluation, lang: str = "zh") -> dict[str, Any]:
    """The JSON of ``policy-kb town NAME``."""
    model = te.model
    table = model.targets
    assert table is not None
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
        "district": {
            "towns": len(table.towns),
            "total": table.total,
            "rows_sum": sum(t.target for t in table.towns),
        },
        "measures": [
            {
                "id": r.measure.id,
                "number": r.measure.number,
                "kind": r.measure.kind.value,
                "audience": r.measure.audience.value,
                "title": r.measure.title[lang],
                "status": r.status.value,
                "status_label": words.status_word(r.status, lang),
                "summary": words.town_measure_sentence(
                    r.status, r.measure.audience, r.target, table.unit, lang
                ),
                "target": r.target,
                "citation": citation(model, r.measure, None),
            }
            for r in te.measures
        ],
    }


def targets_dict(model: PolicyModel) -> dict[str, Any] | None:
    t = model.targets
    if t is None:
        return None
    return {
        "annex": t.annex,
        "year": t.year,
        "unit": t.unit,
        "towns": [
            {"seq": w.seq, "name": w.name, "name_en": w.name_en, "target": w.target}
            for w in t.towns
        ],
        "total": t.total,
    }


def catalogue_to_dict(model: PolicyModel, lang: str = "zh") -> dict[str, Any]:
    """The measure catalogue (``policy-kb measures --format json``): no profile needed."""
    return {
        "policy": policy_dict(model, lang),
        "measures": [
            {
                "id": m.id,
                "number": m.number,
                "kind": m.kind.value,
                "part": model.document.heading_of(m.part),
                "audience": m.audience.value,
                "title": m.title[lang],
                "title_zh": m.title.zh,
                "title_en": m.title.en,
                "text": m.text,
                "benefits": [
                    {
                        "id": b.id,
                        "kind": b.kind.value,
                        "title": b.title[lang],
                        "description": b.description[lang],
                        "quote": b.quote,
                        "conditions": as_written(b.condition, top=True),
                        "parameters": list(b.parameters),
                    }
                    for b in m.benefits
                ],
            }
            for m in model.measures
        ],
        "targets": targets_dict(model),
    }


def _in(words: Text | None, lang: str) -> str | None:
    return None if words is None else words[lang]


def parameter_history(param: Parameter, lang: str = "zh") -> dict[str, Any]:
    """A parameter with every dated value (the catalogue's view, independent of a year)."""
    return {
        "id": param.id,
        "label": param.label[lang],
        "unit": param.unit,
        "clause": param.clause,
        "quote": param.quote,
        "reference": _in(param.reference, lang),
        "values": [
            {
                "from": v.start.isoformat(),
                "until": v.end.isoformat() if v.end else None,
                "value": plain(v.value) if v.value is not None else None,
                "tiers": [{"at_least": plain(t.at_least), "points": t.points} for t in v.tiers]
                or None,
                "reference": _in(v.reference, lang),
            }
            for v in param.values
        ],
    }


def benefit_detail(model: PolicyModel, benefit_id: str, lang: str = "zh") -> dict[str, Any]:
    """One benefit as the catalogue shows it: clause, conditions as written, parameters, formula."""
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
            "note": _pick(lang, b.estimate.note),
        }
    return {
        **benefit_head(b, lang),
        "number": measure.number,
        "quote": b.quote,
        "clause": measure.text,
        "citation": citation(model, measure, b),
        "conditions": as_written(b.condition, top=True),
        "parameters": [parameter_history(model.parameters[p], lang) for p in b.parameters],
        "estimate": estimate,
        "amount_note": _pick(lang, b.amount_note),
        "reading": _pick(lang, b.reading),
        "implies": list(b.implies),
        "not_combinable_with": list(b.not_combinable_with),
        "source": _source(b.location),
    }


def measure_detail(model: PolicyModel, measure_id: str, lang: str = "zh") -> dict[str, Any]:
    """One measure with its clause text and the full detail of each benefit."""
    m = model.measures_by_id[measure_id]
    return {
        **measure_head(model, m, lang),
        "text": m.text,
        "citation": citation(model, m, None),
        "targets": m.targets,
        "benefits": [benefit_detail(model, b.id, lang) for b in m.benefits],
        "source": _source(m.location),
    }


def facts_form(model: PolicyModel, lang: str = "zh") -> dict[str, Any]:
    """The facts a profile may carry, by form group: what a form needs to draw itself.

    Derived facts are left out (they are computed). A town fact lists the towns of 附件2.
    """
    towns = model.targets.towns if model.targets else ()
    groups = []
    for group, facts in model.form_groups():
        fields = []
        for fact in facts:
            field: dict[str, Any] = {
                "id": fact.id,
                "label": fact.label[lang],
                "type": fact.type.value,
                "unit": fact.unit,
                "min": fact.minimum,
                "max": fact.maximum,
                "help": _pick(lang, fact.help),
            }
            if fact.type.value == "town":
                field["choices"] = [{"value": t.name, "label": t.label[lang]} for t in towns]
            fields.append(field)
        groups.append({"name": group.name, "label": group.label[lang], "facts": fields})
    return {"lang": lang, "groups": groups}


def towns_to_dict(model: PolicyModel, lang: str = "zh") -> dict[str, Any]:
    """The 附件2 table: every town and its target, the printed total and the sum of the rows."""
    table = model.targets
    if table is None:
        return {"towns": [], "total": None, "rows_sum": 0}
    return {
        "annex": table.annex,
        "title": table.title[lang],
        "year": table.year,
        "unit": table.unit,
        "towns": [
            {"seq": t.seq, "name": t.name, "name_en": t.name_en, "target": t.target}
            for t in table.towns
        ],
        "total": table.total,
        "rows_sum": sum(t.target for t in table.towns),
    }


def facts_list(model: PolicyModel) -> dict[str, Any]:
    """``policy-kb facts --format json``: every fact and derived fact."""
    return {
        "facts": [
            {
                "id": f.id,
                "type": f.type.value,
                "unit": f.unit,
                "label_zh": f.label.zh,
                "label_en": f.label.en,
                "group": f.group,
            }
            for f in model.facts.values()
        ],
        "derived_facts": [{"id": d.id, "formula": d.formula_text} for d in model.derived.values()],
    }


def lint_to_dict(report: Any, model: PolicyModel, lang: str = "zh") -> dict[str, Any]:
    """The JSON of ``policy-kb lint --format json``."""
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
                "message": f.message.render(lang),
                "expected": f.expected.render(lang) if f.expected else None,
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


def roster_to_dict(summary: Any, output: str | None, lang: str = "zh") -> dict[str, Any]:
    """``policy-kb roster --format json``: counts, bad rows and totals."""
    return {
        "rows": summary.rows,
        "invalid_rows": summary.invalid,
        "errors": [e.to_dict(lang) for e in summary.errors],
        "benefits": {
            # counts in the order of Status (as the column codes)
            b: dict(zip(_VALUE.values(), c, strict=True))
            for b, c in summary.statuses.items()
        },
        "precheck": dict(
            zip(("qualifies", "does_not_qualify", "undetermined"), summary.precheck, strict=True)
        ),
        "estimated_totals": {k: round(v, 2) for k, v in summary.totals.items()},
        "unknown_amounts": dict(sorted(summary.unknown.items())),
        "rows_of_another_year": summary.overridden,  # evaluated for --year, not their own
        "output": output,
    }
