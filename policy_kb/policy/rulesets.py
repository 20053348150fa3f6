"""The rules of measures.yaml: categories, measures and benefits, amounts, and the evaluation.

Conditions and formulas are compiled by :mod:`policy_kb.rules.parse` against the names the file
declares; the tech-SME evaluation (``tech_sme_evaluation``) is compiled into one rule tree of the
same language (:class:`~policy_kb.rules.tree.Score`, :class:`~policy_kb.rules.tree.Best`,
:class:`~policy_kb.rules.tree.Total` and comparisons), so every back-end reads it like any other
condition. :func:`build_model` runs every section builder and assembles the model.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import ConditionSyntaxError, Location
from ..rules.parse import BOOL, TEXT, Scope, ValueType, group, parse_condition, parse_expression
from ..rules.tree import (
    AllOf,
    AnyOf,
    Best,
    Comparison,
    Condition,
    Const,
    Estimate,
    EstimateCase,
    Exclusive,
    FactRef,
    Node,
    NotOf,
    ParamRef,
    Score,
    Total,
)
from ..rules.walk import categories_used, facts_in, parameters_in
from ..text import Msg, chinese_numeral, did_you_mean, text
from . import sections
from .model import (
    PRECHECK,
    Audience,
    Benefit,
    BenefitKind,
    Category,
    DerivedFactDef,
    Document,
    EvaluationMethod,
    FactDef,
    FactType,
    Measure,
    MeasureKind,
    NamedCondition,
    Parameter,
    Part,
    PolicyModel,
    TargetTable,
)
from .reader import Reader
from .yamlsource import Path


def build_model(r: Reader, sha256: str) -> PolicyModel | None:
    """Every section, checked; None when a part the model cannot do without is broken."""
    document = sections.document(r)
    facts = sections.facts(r)
    targets = sections.targets(r)
    parameters = sections.parameters(r)
    sections.check_collisions(r)
    scope = _scope(r, facts, targets)
    derived = _derived(r, facts, scope)
    scope = Scope(
        scope.facts,
        {k: d.inputs for k, d in derived.items()},
        scope.parameters,
        scope.categories,
        scope.labels,
        scope.choices,
    )
    categories = _categories(r, scope)
    measures = _measures(r, scope, parameters, targets, document)
    exclusions = _combinations(r, measures)
    evaluation = _evaluation(r, scope, facts, parameters)
    groups = sections.fact_groups(r, facts)
    holders, evidence = sections.evidence(r, facts)
    if document is None:
        return None
    return PolicyModel(
        r.doc.file,
        sha256,
        document,
        facts,
        derived,
        parameters,
        categories,
        tuple(measures),
        targets,
        evaluation,
        groups,
        exclusions,
        holders,
        evidence,
    )


def _fact_type(fact: FactDef) -> ValueType:
    if fact.type is FactType.BOOL:
        return BOOL
    if fact.type in (FactType.TEXT, FactType.TOWN):
        return TEXT
    return ValueType("number", fact.unit)


def _derived_unit(raw: Mapping[str, Any]) -> str | None:
    unit = raw.get("unit")
    return "元" if unit is None and raw.get("type") == "money" else unit


def _scope(r: Reader, facts: Mapping[str, FactDef], targets: TargetTable | None) -> Scope:
    params = {
        k: ValueType(
            "table"
            if any("tiers" in v for v in p.get("values") or [] if isinstance(v, dict))
            else "number",
            p.get("unit"),
        )
        for k, p in r.entries("parameters").items()
        if isinstance(p, dict)
    }
    derived = {
        k: ValueType("number", _derived_unit(v))
        for k, v in r.entries("derived_facts").items()
        if isinstance(v, dict)
    }
    return Scope(
        facts={**{k: _fact_type(f) for k, f in facts.items()}, **derived},
        derived={},
        parameters=params,
        categories=frozenset(r.section("categories")),
        labels={f.label.zh: k for k, f in facts.items()},
        choices={
            k: frozenset(t.name for t in targets.towns)
            for k, f in facts.items()
            if f.type is FactType.TOWN and targets
        },
    )


def _derived(r: Reader, facts: Mapping[str, FactDef], scope: Scope) -> dict[str, DerivedFactDef]:
    base = Scope(
        {k: v for k, v in scope.facts.items() if k in facts},
        {},
        scope.parameters,
        frozenset(),
        scope.labels,
    )
    found: dict[str, DerivedFactDef] = {}
    for name, d in r.entries("derived_facts").items():
        path: Path = ("derived_facts", name)
        if not r.ok(path):
            continue
        try:
            expr, vtype = parse_expression(d["formula"], base, r.doc.text_at((*path, "formula")))
        except ConditionSyntaxError as exc:
            r.problems.append(exc.problem)
            continue
        unit = _derived_unit(d)
        if vtype.unit and unit and vtype.unit != unit:
            r.problem(
                r.at((*path, "formula")),
                "derived.unit",
                Msg("derived.hint.unit", unit=vtype.unit),
                name=name,
                got=vtype.unit,
                unit=unit,
            )
        found[name] = DerivedFactDef(
            name,
            text(d["label_zh"], d["label_en"]),
            FactType(d["type"]),
            unit,
            d["formula"],
            expr,
            facts_in(expr),
            d.get("group"),
            r.key_at(path),
        )
    return found


# ── conditions ───────────────────────────────────────────────────────────────────────────────


def conditions(r: Reader, items: list[Any], path: Path, scope: Scope, clause: str) -> AllOf | None:
    if not isinstance(items, list) or not items:  # [] would drop the benefit, or the pre-check
        r.problem(r.at(path), "cond.group_needs_list", Msg("cond.hint.one_per_line"), key=path[-1])
        return None
    parts = [condition(r, item, (*path, i), scope, clause) for i, item in enumerate(items)]
    if any(p is None for p in parts):
        return None
    return AllOf("all", r.at(path), clause, tuple(p for p in parts if p is not None))


def condition(r: Reader, item: Any, path: Path, scope: Scope, clause: str) -> Condition | None:
    loc = r.at(path)
    if isinstance(item, str):
        try:
            return parse_condition(item, scope, r.doc.text_at(path), clause)
        except ConditionSyntaxError as exc:
            r.problems.append(exc.problem)
            return None
    if isinstance(item, dict) and len(item) == 1:
        ((key, value),) = item.items()
        if key not in ("all", "any", "not"):
            hint = did_you_mean(str(key), ["all", "any", "not"]) or Msg("cond.hint.groups")
            if not str(key).isidentifier():  # a condition with ': ' in it, read as key: value
                hint = Msg("cond.hint.colon_in_condition", key=key, value=value)
            r.problem(r.key_at((*path, key)), "cond.unknown_group", hint, key=key)
            return None
        if key == "not" and not isinstance(value, list):
            inner = condition(r, value, (*path, key), scope, clause)
            return None if inner is None else group("not", loc, clause, (inner,))
        if not isinstance(value, list) or not value:
            r.problem(
                r.at((*path, key)), "cond.group_needs_list", Msg("cond.hint.one_per_line"), key=key
            )
            return None
        parts = [condition(r, v, (*path, key, i), scope, clause) for i, v in enumerate(value)]
        if any(p is None for p in parts):
            return None
        return group(key, loc, clause, tuple(p for p in parts if p is not None))
    if isinstance(item, dict):
        r.problem(loc, "cond.group_one_key", Msg("cond.hint.groups_list"))
        return None
    shown = Msg("show.empty") if item is None else Msg("show.literal", text=repr(item))
    r.problem(loc, "cond.not_text", Msg("cond.hint.text"), shown=shown)
    return None


def _categories(r: Reader, scope: Scope) -> dict[str, Category]:
    found: dict[str, Category] = {}
    for name, c in r.entries("categories").items():
        path: Path = ("categories", name)
        if not r.ok(path):
            continue
        r.verbatim(c.get("quote"), (*path, "quote"), "quote")
        clause = c.get("clause") or ""
        cond = conditions(r, c["conditions"], (*path, "conditions"), scope, clause)
        if cond is not None:
            found[name] = Category(
                name,
                text(c["label_zh"], c["label_en"]),
                c.get("clause"),
                c.get("quote"),
                sections.reference_of(c),
                cond,
                r.key_at(path),
                c.get("reads_as", "member"),
            )
    _check_cycles(r, found)
    return found


def _check_cycles(r: Reader, categories: Mapping[str, Category]) -> None:
    graph = {name: categories_used(c.condition) for name, c in categories.items()}
    reported: set[str] = set()

    def visit(name: str, trail: list[str]) -> None:
        if name in trail:
            cycle = [*trail[trail.index(name) :], name]
            if name not in reported:
                reported.update(cycle)
                r.problem(
                    categories[name].location,
                    "categories.cycle",
                    Msg("categories.hint.cycle"),
                    cycle=" → ".join(cycle),
                )
            return
        for nxt in graph.get(name, []):
            visit(nxt, [*trail, name])

    for name in graph:
        visit(name, [])


# ── measures and benefits ────────────────────────────────────────────────────────────────────


def _measures(
    r: Reader,
    scope: Scope,
    parameters: Mapping[str, Parameter],
    targets: TargetTable | None,
    document: Document | None,
) -> list[Measure]:
    raw = r.data.get("measures")
    if not isinstance(raw, list):
        return []
    found: list[Measure] = []
    first: dict[str, int] = {}
    seen_benefits: dict[str, int] = {}
    parts = document.parts if document else ()
    for i, m in enumerate(raw):
        path: Path = ("measures", i)
        if not r.ok(path):
            continue
        mid, number = m["id"], m["number"]
        if mid in first:
            r.problem(
                r.at((*path, "id")),
                "measures.id_twice",
                Msg("measures.hint.once", line=first[mid]),
                id=mid,
            )
        else:
            first[mid] = r.at((*path, "id")).line
        part, kind = _check_number(r, mid, number, path, parts)
        r.verbatim(m["title_zh"], (*path, "title_zh"), "title")
        r.verbatim(m["text"], (*path, "text"), "clause")
        ref = m.get("targets")
        if ref is not None and (targets is None or targets.annex != ref):
            hint = (
                Msg("literal", text=f"'{targets.annex}'")
                if targets
                else Msg("measures.hint.targets")
            )
            r.problem(r.at((*path, "targets")), "measures.targets_unknown", hint, id=mid, ref=ref)
        benefits = [
            b
            for j, raw_b in enumerate(m.get("benefits") or [])
            if (
                b := _benefit(r, raw_b, (*path, "benefits", j), m, scope, parameters, seen_benefits)
            )
            is not None
        ]
        _check_grants(r, m, path, parts, part)
        if part is None or kind is None:
            continue
        reading = text(m["reading_zh"], m.get("reading_en")) if m.get("reading_zh") else None
        found.append(
            Measure(
                mid,
                number,
                part,
                kind,
                text(m["title_zh"], m["title_en"]),
                Audience(m["audience"]),
                m["text"],
                ref,
                tuple(benefits),
                reading,
                r.at(path),
            )
        )
    clauses = _source_clauses(r, parts)
    _check_clauses(r, clauses, {m.get("number") for m in raw if isinstance(m, dict)})
    _check_clause_refs(r, clauses, raw)
    return found


_CLAUSE = re.compile(r"^[ \t　]*[（(]([一二三四五六七八九十]+)[）)][ \t　]*(\S[^\n]*)?$", re.M)


def _source_clauses(r: Reader, parts: Sequence[Part]) -> dict[str, tuple[str, Part]]:
    """The numbered clauses (（一）, （二）…) of the parts that hold measures, as the source text
    prints them: number (``三(一)``) → (title, part). Empty without the source text."""
    source = r.source_text
    if not source:
        return {}
    found: dict[str, tuple[str, Part]] = {}
    starts = sorted((at, part) for part in parts if (at := source.find(part.heading)) >= 0)
    for k, (at, part) in enumerate(starts):
        if not part.measure_prefix:
            continue
        end = starts[k + 1][0] if k + 1 < len(starts) else len(source)
        for match in _CLAUSE.finditer(source, at, end):
            found[f"{part.number}({match.group(1)})"] = ((match.group(2) or "").strip(), part)
    return found


def _check_clauses(r: Reader, clauses: Mapping[str, tuple[str, Part]], numbers: set[Any]) -> None:
    """Every numbered clause of a part that holds measures has its measure: a clause deleted
    from the encoding is an error, not a silent loss of meaning."""
    for number, (title, part) in clauses.items():
        if number not in numbers:
            r.problem(
                part.location,
                "measures.clause_missing",
                Msg("measures.hint.clause", prefix=part.measure_prefix, number=number),
                number=number,
                title=title,
                heading=part.heading,
            )


def _check_clause_refs(r: Reader, clauses: Mapping[str, tuple[str, Part]], raw: list[Any]) -> None:
    """Every clause named is one the source text prints: a measure's number (with that
    clause's title), and the ``clause:`` of a parameter, a category and the evaluation — a
    clause the text does not have is a dangling reference in every answer and export."""
    if not clauses:
        return
    known = list(clauses)
    for i, m in enumerate(raw):
        number = m.get("number") if isinstance(m, dict) else None
        if not isinstance(number, str) or "(" not in number:
            continue
        if number not in clauses:
            r.problem(
                r.at(("measures", i, "number")),
                "measures.number_unknown",
                Msg("hint.one_of", names=", ".join(known)),
                id=m.get("id", ""),
                number=number,
            )
        elif (
            isinstance(title := m.get("title_zh"), str)
            and title != clauses[number][0]
            and title in (r.source_text or "")  # else the verbatim check says what differs
        ):
            r.problem(
                r.at(("measures", i, "title_zh")),
                "measures.title_other",
                Msg("literal", text=f"'{clauses[number][0]}'"),
                id=m.get("id", ""),
                number=number,
            )
    refs: list[Path] = [
        (section, name, "clause")
        for section in ("parameters", "categories")
        for name, entry in r.section(section).items()
        if isinstance(entry, dict) and "clause" in entry
    ]
    if (
        isinstance(r.data.get("tech_sme_evaluation"), dict)
        and "clause" in r.data["tech_sme_evaluation"]
    ):
        refs.append(("tech_sme_evaluation", "clause"))
    for path in refs:
        value: Any = r.data
        for key in path:
            value = value[key]
        if isinstance(value, str) and value not in clauses:
            written = value.replace("（", "(").replace("）", ")").replace(" ", "")
            r.problem(
                r.at(path),
                "clause.unknown",
                Msg("literal", text=f"'{written}'")
                if written in clauses
                else Msg("hint.one_of", names=", ".join(known)),
                value=value,
            )


def _check_grants(
    r: Reader, m: Mapping[str, Any], path: Path, parts: Sequence[Part], number: str | None
) -> None:
    """Each place a measure's text grants something (a grant word of its part: 奖励, 减免 …)
    lies inside the quote of one of its benefits: a benefit deleted from the encoding leaves
    its grant uncovered and is an error, not a silent loss of meaning."""
    part = next((p for p in parts if p.number == number), None)
    clause = m.get("text")
    if part is None or not part.grant_words or not isinstance(clause, str):
        return
    spans = []
    for j, b in enumerate(m.get("benefits") or []):
        quote = b.get("quote") if isinstance(b, dict) else None
        if not isinstance(quote, str) or not quote or (start := clause.find(quote)) < 0:
            continue
        grants = b.get("grants")
        if not isinstance(grants, str):
            spans.append((start, start + len(quote)))
        elif (inner := quote.find(grants)) < 0:
            r.problem(
                r.at((*path, "benefits", j, "grants")),
                "benefits.grants_outside",
                Msg("benefits.hint.grants"),
                id=b.get("id", ""),
                grants=grants,
            )
        else:
            spans.append((start + inner, start + inner + len(grants)))
    for word in part.grant_words:
        start = clause.find(word)
        while start >= 0:
            if not any(a <= start and start + len(word) <= b for a, b in spans):
                r.problem(
                    r.at((*path, "text")),
                    "benefits.grant_uncovered",
                    Msg("benefits.hint.grant"),
                    id=m.get("id", ""),
                    word=word,
                    context=clause[max(0, start - 20) : start + len(word) + 10],
                )
            start = clause.find(word, start + len(word))


POINTS = "分"  # the unit of a score and of the pass mark
_STRICT_OF = {"<": "<=", ">": ">="}
# under a ``not`` a comparison means its complement: ``not x <= p`` is x > p, and the bound is
# kept by writing ``not x < p`` (x >= p)
_STRICT_UNDER_NOT = {"<=": "<", ">=": ">"}


def _inclusive_bounds(r: Reader, cond: Condition, parameters: Mapping[str, Parameter]) -> None:
    """A bound the text writes as （含）/ 以上 / 以下 is kept in the condition: compared with
    ``<=`` / ``>=``, or under a ``not`` with ``<`` / ``>`` (``not x < p`` is x >= p)."""
    stack: list[tuple[Node, bool]] = [(cond, False)]
    while stack:
        node, negated = stack.pop()
        if isinstance(node, NotOf):
            stack.append((node.part, not negated))
            continue
        if not isinstance(node, Comparison):
            stack.extend((child, negated) for child in reversed(node.children()))
            continue
        good = (_STRICT_UNDER_NOT if negated else _STRICT_OF).get(node.op)
        if good is None:
            continue
        for side in (node.left, node.right):
            if isinstance(side, ParamRef) and side.name in parameters:
                param = parameters[side.name]
                if param.inclusive:
                    r.problem(
                        node.location,
                        "cond.strict_inclusive",
                        Msg("cond.hint.inclusive", good=good),
                        text=node.text,
                        name=param.id,
                        quote=param.quote or "",
                    )


def _check_number(
    r: Reader, mid: str, number: str, path: Path, parts: Sequence[Part]
) -> tuple[str | None, MeasureKind | None]:
    """The part and kind of a measure, from the prefix of its id; its printed number checked."""
    seq = mid.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    prefix = mid[: len(mid) - len(seq)]
    prefixes = {p.measure_prefix: p for p in parts if p.measure_prefix}
    owner = prefixes.get(prefix)
    if owner is None:
        if parts:
            r.problem(
                r.at((*path, "id")),
                "measures.prefix_unknown",
                Msg("hint.one_of", names=", ".join(sorted(prefixes)) or "—"),
                id=mid,
                prefix=prefix,
            )
        return None, None
    expected_part, kind = owner.number, owner.measure_kind
    if not seq.isdigit() or "(" not in number:
        return None, None
    part = number.split("(", 1)[0]
    expected = f"{expected_part}({chinese_numeral(int(seq))})" if 0 < int(seq) < 100 else number
    if number != expected:
        r.problem(
            r.at((*path, "number")),
            "measures.numbered",
            Msg("measures.hint.printed", id=mid, expected=expected),
            id=mid,
            number=number,
        )
    return part, kind


def _benefit(
    r: Reader,
    b: dict[str, Any],
    path: Path,
    m: dict[str, Any],
    scope: Scope,
    parameters: Mapping[str, Parameter],
    seen: dict[str, int],
) -> Benefit | None:
    if not r.ok(path):
        return None
    mid, bid = m["id"], b["id"]
    if bid in seen:
        r.problem(
            r.at((*path, "id")),
            "benefits.id_twice",
            Msg("benefits.hint.once", line=seen[bid]),
            id=bid,
        )
    else:
        seen[bid] = r.at((*path, "id")).line
    if not bid.startswith(f"{mid}."):
        r.problem(
            r.at((*path, "id")),
            "benefits.prefix",
            Msg("benefits.hint.prefix", prefix=f"{mid}."),
            id=bid,
            measure=mid,
        )
    r.verbatim(b["quote"], (*path, "quote"), "quote", within=m["text"], owner=mid)
    for k, pname in enumerate(b.get("parameters") or []):
        if pname not in r.section("parameters"):
            hint = did_you_mean(pname, parameters) or Msg("benefits.hint.parameter")
            r.problem(
                r.at((*path, "parameters", k)),
                "benefits.unknown_parameter",
                hint,
                name=pname,
                id=bid,
            )
    clause = m["number"]
    cond = conditions(r, b["conditions"], (*path, "conditions"), scope, clause)
    estimate = _estimate(r, bid, b.get("estimate"), (*path, "estimate"), scope, clause)
    if cond is None:
        return None
    _inclusive_bounds(r, cond, parameters)
    return Benefit(
        bid,
        mid,
        BenefitKind(b["kind"]),
        text(b["title_zh"], b["title_en"]),
        text(b["description_zh"], b["description_en"]),
        b["quote"],
        cond,
        tuple(b.get("parameters") or ()),
        text(b["reading_zh"], b.get("reading_en")) if b.get("reading_zh") else None,
        text(b["amount_note_zh"], b.get("amount_note_en")) if b.get("amount_note_zh") else None,
        r.at(path),
        estimate,
        tuple(b.get("not_combinable_with") or ()),
        tuple(b.get("implies") or ()),
    )


def _estimate(
    r: Reader, benefit: str, raw: Any, path: Path, scope: Scope, clause: str
) -> Estimate | None:
    if not isinstance(raw, dict):
        return None
    if "formula" in raw and "cases" in raw:
        r.problem(r.at(path), "estimate.both", Msg("estimate.hint.both"))
        return None
    items = (
        [(raw, path)]
        if "formula" in raw
        else [(c, (*path, "cases", i)) for i, c in enumerate(raw.get("cases") or [])]
    )
    cases: list[EstimateCase] = []
    for item, ipath in items:
        when = None
        if "when" in item:
            when = condition(r, item["when"], (*ipath, "when"), scope, clause)
            if when is None:
                continue
        try:
            expr, vtype = parse_expression(
                item["formula"], scope, r.doc.text_at((*ipath, "formula"))
            )
        except ConditionSyntaxError as exc:
            r.problems.append(exc.problem)
            continue
        if (None if vtype.unit == "%" else vtype.unit) not in (None, "元"):
            r.problem(
                r.at((*ipath, "formula")),
                "estimate.unit",
                Msg("estimate.hint.unit"),
                unit=vtype.unit,
            )
            continue
        cases.append(EstimateCase(when, item["formula"], expr, r.at(ipath), parameters_in(expr)))
    if not cases or len(cases) != len(items):
        return None
    note = text(raw["note_zh"], raw.get("note_en")) if raw.get("note_zh") else None
    return Estimate(benefit, raw["kind"], tuple(cases), note, r.at(path))


def _combinations(r: Reader, measures: list[Measure]) -> tuple[Exclusive, ...]:
    known = {
        b["id"]
        for m in r.data.get("measures") or []
        if isinstance(m, dict)
        for b in m.get("benefits") or []
        if isinstance(b, dict) and isinstance(b.get("id"), str)
    }
    pairs: dict[frozenset[str], Exclusive] = {}
    for _i, m in enumerate(measures):
        for _j, b in enumerate(m.benefits):
            bpath = _benefit_path(r.data, b.id)
            for key, others in (
                ("not_combinable_with", b.not_combinable_with),
                ("implies", b.implies),
            ):
                for k, other in enumerate(others):
                    if other == b.id:  # 'did you mean' itself was the hint
                        r.problem(r.at((*bpath, key, k)), "benefits.itself", None, id=b.id, key=key)
                    elif other not in known:
                        hint = did_you_mean(other, known) or Msg("benefits.hint.other")
                        r.problem(
                            r.at((*bpath, key, k)), "benefits." + key, hint, id=b.id, other=other
                        )
                    elif key == "not_combinable_with":
                        pairs.setdefault(
                            frozenset((b.id, other)), Exclusive(b.id, other, r.at((*bpath, key, k)))
                        )
    return tuple(pairs.values())


def _benefit_path(data: Mapping[str, Any], benefit_id: str) -> Path:
    for i, m in enumerate(data.get("measures") or []):
        for j, b in enumerate((m.get("benefits") or []) if isinstance(m, dict) else []):
            if isinstance(b, dict) and b.get("id") == benefit_id:
                return ("measures", i, "benefits", j)
    return ()


# ── the tech-SME evaluation, as one rule ─────────────────────────────────────────────────────


def _evaluation(
    r: Reader, scope: Scope, facts: Mapping[str, FactDef], parameters: Mapping[str, Parameter]
) -> EvaluationMethod | None:
    raw = r.section("tech_sme_evaluation")
    path: Path = ("tech_sme_evaluation",)
    if not raw or not r.ok(path):
        return None
    r.verbatim(raw.get("quote"), (*path, "quote"), "quote")
    clause = raw.get("clause") or ""
    basic = _named(r, raw["basic_conditions"], (*path, "basic_conditions"), scope, clause)
    direct = _named(r, raw["direct_routes"], (*path, "direct_routes"), scope, clause)
    indicators = _indicators(r, raw["indicators"], (*path, "indicators"), facts, parameters)
    pass_score = _pass_score(r, raw["pass_score"], path, parameters)
    ids = [i.id for i in indicators]
    nonzero = tuple(raw.get("nonzero") or ())
    for k, name in enumerate(nonzero):
        if name not in {i["id"] for i in raw["indicators"]}:
            r.problem(
                r.at((*path, "nonzero", k)),
                "evaluation.nonzero",
                did_you_mean(name, ids) or Msg("evaluation.hint.indicator"),
                name=name,
            )
    establishes = raw.get("establishes")
    if establishes is not None and (
        establishes not in facts or facts[establishes].type is not FactType.BOOL
    ):
        r.problem(
            r.at((*path, "establishes")),
            "evaluation.establishes",
            did_you_mean(establishes, facts) or Msg("evaluation.hint.bool_fact"),
            name=establishes,
        )
        establishes = None
    if (
        basic is None
        or direct is None
        or pass_score is None
        or len(indicators) != len(raw["indicators"])
    ):
        return None
    loc = r.at(path)
    rule = _rule(loc, clause, basic, direct, indicators, pass_score, nonzero)
    return EvaluationMethod(
        text(raw["label_zh"], raw["label_en"]),
        raw.get("clause"),
        raw.get("quote"),
        sections.reference_of(raw),
        basic,
        direct,
        indicators,
        pass_score,
        nonzero,
        establishes,
        rule,
        loc,
    )


def _rule(
    loc: Location,
    clause: str,
    basic: tuple[NamedCondition, ...],
    direct: tuple[NamedCondition, ...],
    indicators: tuple[Best, ...],
    pass_score: str,
    nonzero: tuple[str, ...],
) -> AllOf:
    """basic conditions ∧ (a direct route ∨ (total ≥ pass mark ∧ no must-not-be-zero indicator at 0))."""
    total = Total("score", indicators)
    scored = tuple(f for i in indicators for f in facts_in(i))
    score_parts: list[Condition] = [
        Comparison(
            f"score >= {pass_score}",
            loc,
            clause,
            total,
            ">=",
            ParamRef(pass_score),
            scored,
            scored,
            (pass_score,),
        )
    ]
    for ind in indicators:
        if ind.id in nonzero:
            reads = facts_in(ind)
            score_parts.append(
                Comparison(f"{ind.id} > 0", loc, clause, ind, ">", Const(0), reads, reads)
            )
    return AllOf(
        PRECHECK,
        loc,
        clause,
        (
            AllOf("basic", loc, clause, tuple(n.condition for n in basic)),
            AnyOf(
                "route",
                loc,
                clause,
                (
                    AnyOf("direct", loc, clause, tuple(n.condition for n in direct)),
                    AllOf("score", loc, clause, tuple(score_parts)),
                ),
            ),
        ),
    )


def _named(
    r: Reader, raw: list[Any], path: Path, scope: Scope, clause: str
) -> tuple[NamedCondition, ...] | None:
    out = []
    for i, item in enumerate(raw):
        cond = conditions(r, item["conditions"], (*path, i, "conditions"), scope, clause)
        if cond is None:
            return None
        out.append(
            NamedCondition(
                item["id"], text(item["label_zh"], item["label_en"]), cond, r.at((*path, i))
            )
        )
    return tuple(out)


def _indicators(
    r: Reader,
    raw: list[Any],
    path: Path,
    facts: Mapping[str, FactDef],
    parameters: Mapping[str, Parameter],
) -> tuple[Best, ...]:
    found: list[Best] = []
    for i, item in enumerate(raw):
        ipath = (*path, i)
        if any(b.id == item["id"] for b in found):
            r.problem(
                r.at((*ipath, "id")),
                "evaluation.indicator_twice",
                Msg("evaluation.hint.once"),
                id=item["id"],
            )
            continue
        sources = [
            _source(r, s, (*ipath, "sources", j), facts, parameters, item["max_points"])
            for j, s in enumerate(item["sources"])
        ]
        if sources and all(s is not None for s in sources):
            label = text(item["label_zh"], item["label_en"])
            found.append(
                Best(
                    item["id"],
                    label,
                    item["max_points"],
                    tuple(s for s in sources if s is not None),
                    r.at(ipath),
                )
            )
    return tuple(found)


def _source(
    r: Reader,
    src: dict[str, Any],
    path: Path,
    facts: Mapping[str, FactDef],
    parameters: Mapping[str, Parameter],
    max_points: int,
) -> Score | None:
    ratio, count, tiers = src.get("ratio"), src.get("count"), src["tiers"]
    if isinstance(ratio, list) and len(ratio) == 2 and count is None:
        names, where = list(ratio), [(*path, "ratio", 0), (*path, "ratio", 1)]
    elif ratio is None and isinstance(count, str):
        names, where = [count], [(*path, "count")]
    else:
        r.problem(r.at(path), "evaluation.source", Msg("evaluation.hint.source"))
        return None
    usable = True
    for fact, at in zip(names, where, strict=True):
        if fact not in facts or facts[fact].type not in (FactType.COUNT, FactType.MONEY):
            r.problem(
                r.at(at),
                "evaluation.not_numeric",
                (did_you_mean(fact, facts) if fact not in facts else None)
                or Msg("evaluation.hint.numeric"),
                fact=fact,
            )
            usable = False
    table = parameters.get(tiers)
    if table is None or not table.is_table:
        if tiers in r.section("parameters") and tiers not in parameters:
            return None  # the table itself has a problem, reported where it is defined
        tables = [p for p, v in parameters.items() if v.is_table]
        r.problem(
            r.at((*path, "tiers")),
            "evaluation.not_table",
            did_you_mean(tiers, tables) or Msg("evaluation.hint.table"),
            name=tiers,
        )
        return None
    top = max(t.points for v in table.values for t in v.tiers)
    if top > max_points:
        r.problem(
            r.at((*path, "tiers")),
            "evaluation.too_many_points",
            Msg("evaluation.hint.points", points=max_points),
            name=tiers,
            top=top,
            points=max_points,
        )
    if not usable:
        return None
    if not _score_units(r, path, [facts[n] for n in names], table):
        return None
    den = FactRef(names[1]) if len(names) == 2 else None
    return Score(tiers, FactRef(names[0]), den, r.at(path))


def _score_units(r: Reader, path: Path, read: Sequence[FactDef], table: Parameter) -> bool:
    """A ratio divides two facts of one unit and is scored by a table in %; a count is scored
    by a table in its own unit (项 by 项): a ratio of 元 to 人, or 元 scored as 项, passed
    validate and scored nonsense (found by a policy-officer review)."""
    if len(read) == 2 and read[0].unit != read[1].unit:
        r.problem(
            r.at((*path, "ratio")),
            "evaluation.ratio_units",
            Msg("evaluation.hint.same_unit"),
            num=read[0].id,
            den=read[1].id,
            a=read[0].unit,
            b=read[1].unit,
        )
        return False
    expected = "%" if len(read) == 2 else read[0].unit
    if table.unit != expected:
        r.problem(
            r.at((*path, "tiers")),
            "evaluation.table_unit",
            Msg("evaluation.hint.table_unit", unit=expected),
            name=table.id,
            unit=table.unit,
            what=Msg("evaluation.a_ratio") if len(read) == 2 else read[0].id,
            expected=expected,
        )
        return False
    return True


def _pass_score(
    r: Reader, name: str, path: Path, parameters: Mapping[str, Parameter]
) -> str | None:
    if name in r.section("parameters") and name not in parameters:
        return None  # the parameter itself has a problem, reported where it is defined
    if name not in parameters or parameters[name].is_table:
        r.problem(
            r.at((*path, "pass_score")),
            "evaluation.pass_score",
            did_you_mean(name, parameters) or Msg("evaluation.hint.single"),
            name=name,
        )
        return None
    if parameters[name].unit != POINTS:
        r.problem(
            r.at((*path, "pass_score")),
            "evaluation.pass_unit",
            Msg("evaluation.hint.pass_unit"),
            name=name,
            unit=parameters[name].unit,
        )
        return None
    return name
