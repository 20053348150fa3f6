"""The RDF back-end: the hand-written TBox plus an ABox generated from the model.

``build_abox`` turns a validated :class:`PolicyModel` into RDF with rdflib: the document and its
clauses (ELI), the measures and benefits (CPSV-AP), their eligibility criteria and conditions
(CCCEV with small local properties for operator and threshold), the profile facts, the dated
parameters and the 附件2 targets. No blank nodes are used, so the Turtle output is byte-for-byte
stable and the committed export can be compared with a fresh one.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import XSD

from ..errors import OntologyError
from ..policy.model import BenefitKind, MeasureKind, PolicyModel
from ..policy.resources import read_data_text
from ..rules.tree import (
    AllOf,
    AnyOf,
    CategoryRef,
    Comparison,
    Condition,
    Estimate,
    Flag,
    NotOf,
)
from ..rules.walk import Visitor, facts_in
from ..text import Msg, Text, plain
from .vocab import CPSV, CV, DCTERMS, ELI, PKB, PREFIXES, RDF, RDFS, SKOS

TBOX_FILE = "policy_kb.ttl"

_KIND_CLASSES = {
    BenefitKind.TAX_INCENTIVE: PKB.TaxIncentive,
    BenefitKind.CASH_REWARD: PKB.CashReward,
    BenefitKind.PRIORITY_SUPPORT: PKB.PrioritySupport,
    BenefitKind.CREDIT_PRODUCT: PKB.CreditProduct,
    BenefitKind.SERVICE: PKB.Service,
    BenefitKind.GUIDANCE: PKB.Guidance,
}
_AUDIENCES = {
    "enterprises": PKB.audience_enterprises,
    "towns_and_zones": PKB.audience_towns_and_zones,
    "district_government": PKB.audience_district_government,
    "service_providers": PKB.audience_service_providers,
}
_ARABIC = {c: i + 1 for i, c in enumerate("一二三四五六七八九")}


def load_tbox() -> Graph:
    """The hand-written ontology shipped in ``ontology/policy_kb.ttl``."""
    text = read_data_text("ontology", TBOX_FILE)
    graph = Graph()
    try:
        graph.parse(data=text, format="turtle")
    except Exception as exc:  # rdflib raises several unrelated types for bad Turtle
        raise OntologyError(Msg("graph.tbox", name=TBOX_FILE, detail=str(exc))) from None
    _bind(graph, None)
    return graph


def _bind(graph: Graph, base: str | None) -> None:
    for prefix, ns in PREFIXES.items():
        graph.bind(prefix, ns, override=True)
    if base:
        graph.bind("wj", base, override=True)


def _slug(text: str) -> str:
    """A clause or part number as an IRI segment: 三(七) → 3-7, 附件2 → annex-2."""
    if text.startswith("附件"):
        return "annex-" + urllib.parse.quote(text.removeprefix("附件"))
    if "(" in text:
        head, tail = text.rstrip(")").split("(", 1)
        return f"{_arabic(head)}-{_arabic(tail)}"
    return str(_arabic(text))


def _arabic(numeral: str) -> int | str:
    if numeral in _ARABIC:
        return _ARABIC[numeral]
    if numeral.startswith("十"):
        return 10 + (_ARABIC.get(numeral[1:], 0) if len(numeral) > 1 else 0)
    if "十" in numeral:
        tens, _, units = numeral.partition("十")
        return _ARABIC[tens] * 10 + (_ARABIC[units] if units else 0)
    return urllib.parse.quote(numeral)


def _zh_en(graph: Graph, subject: URIRef, predicate: URIRef, words: Text | None) -> None:
    if words is None:
        return
    if words.zh:
        graph.add((subject, predicate, Literal(words.zh, lang="zh")))
    if words.en and words.en != words.zh:  # an English label measures.yaml did not give is left out
        graph.add((subject, predicate, Literal(words.en, lang="en")))


def _number(value: Any) -> Literal:
    value = plain(value)
    if isinstance(value, int):
        return Literal(value, datatype=XSD.integer)
    return Literal(str(value), datatype=XSD.decimal)


def build_abox(model: PolicyModel) -> Graph:
    """The instances described by measures.yaml, as an rdflib graph."""
    base = model.document.iri
    g = Graph()
    _bind(g, base)
    iri = _Iris(base)
    doc = model.document

    d = iri.document()
    g.add((d, RDF.type, PKB.PolicyDocument))
    g.add((d, RDF.type, ELI.LegalResource))
    g.add((d, DCTERMS.identifier, Literal(doc.id)))
    _zh_en(g, d, DCTERMS.title, doc.title)
    _zh_en(g, d, RDFS.label, doc.title)
    _zh_en(g, d, DCTERMS.publisher, doc.issuer)
    g.add((d, DCTERMS.issued, Literal(str(doc.year), datatype=XSD.gYear)))
    g.add((d, DCTERMS.source, Literal(doc.source_file)))

    for part in doc.parts:
        p = iri.part(part.number)
        g.add((p, RDF.type, PKB.Annex if part.number.startswith("附件") else PKB.Part))
        g.add((p, RDF.type, ELI.LegalResourceSubdivision))
        g.add((p, ELI.is_part_of, d))
        g.add((p, PKB.number, Literal(part.number)))
        g.add((p, PKB.heading, Literal(part.heading)))
        _zh_en(g, p, RDFS.label, part.title)
        if part.text:
            g.add((p, PKB.verbatimText, Literal(part.text, lang="zh")))

    _facts(g, iri, model)
    _evidence(g, iri, model)
    _parameters(g, iri, model)
    for category in model.categories.values():
        c = iri.category(category.id)
        g.add((c, RDF.type, PKB.Category))
        g.add((c, DCTERMS.identifier, Literal(category.id)))
        _zh_en(g, c, SKOS.prefLabel, category.label)
        if category.quote:
            g.add((c, PKB.quote, Literal(category.quote, lang="zh")))
        if category.reference:
            _zh_en(g, c, PKB.reference, category.reference)
        if category.clause:
            g.add((c, PKB.relevantClause, iri.clause(category.clause)))
        g.add((c, PKB.sourceLine, Literal(category.location.line)))
        _Describe(g, iri, model).parts(c, category.condition)

    for order, measure in enumerate(model.measures, start=1):
        m = iri.measure(measure.id)
        clause = iri.clause(measure.number)
        g.add((clause, RDF.type, PKB.Clause))
        g.add((clause, RDF.type, ELI.LegalResourceSubdivision))
        g.add((clause, ELI.is_part_of, iri.part(measure.part)))
        g.add((clause, PKB.number, Literal(measure.number)))
        g.add((clause, PKB.heading, Literal(measure.title.zh, lang="zh")))
        g.add((clause, PKB.verbatimText, Literal(measure.text, lang="zh")))

        g.add(
            (
                m,
                RDF.type,
                PKB.KeyMeasure if measure.kind is MeasureKind.KEY else PKB.SafeguardMeasure,
            )
        )
        g.add((m, RDF.type, CPSV.PublicService))
        g.add((m, DCTERMS.identifier, Literal(measure.id)))
        g.add((m, PKB.number, Literal(measure.number)))
        g.add((m, PKB.order, Literal(order)))
        _zh_en(g, m, DCTERMS.title, measure.title)
        _zh_en(g, m, RDFS.label, measure.title)
        g.add((m, CV.hasLegalResource, clause))
        g.add((m, PKB.audience, _AUDIENCES[measure.audience.value]))
        g.add((m, PKB.sourceLine, Literal(measure.location.line)))
        if measure.targets and model.targets is not None:
            g.add((m, PKB.tracksTargetsOf, iri.part(model.targets.annex)))
        _zh_en(g, m, PKB.reading, measure.reading)

        for border, benefit in enumerate(measure.benefits, start=1):
            b = iri.benefit(benefit.id)
            g.add((m, CPSV.produces, b))
            g.add((b, RDF.type, _KIND_CLASSES[benefit.kind]))
            g.add((b, RDF.type, CV.Output))
            g.add((b, DCTERMS.identifier, Literal(benefit.id)))
            g.add((b, PKB.order, Literal(border)))
            _zh_en(g, b, DCTERMS.title, benefit.title)
            _zh_en(g, b, RDFS.label, benefit.title)
            _zh_en(g, b, DCTERMS.description, benefit.description)
            g.add((b, PKB.quote, Literal(benefit.quote, lang="zh")))
            g.add((b, PKB.citesClause, clause))
            g.add((b, PKB.sourceLine, Literal(benefit.location.line)))
            _zh_en(g, b, PKB.reading, benefit.reading)
            _zh_en(g, b, PKB.amountNote, benefit.amount_note)
            for name in benefit.parameters:
                g.add((b, PKB.thresholdParameter, iri.parameter(name)))
            top = iri.criterion(b)
            g.add((b, CV.holdsRequirement, top))
            _Describe(g, iri, model).describe(top, benefit.condition, None)
            for other in benefit.not_combinable_with:
                g.add((b, PKB.notCombinableWith, iri.benefit(other)))
            if benefit.estimate is not None:
                _estimate(g, b, benefit.estimate)

    if model.evaluation is not None:
        _evaluation(g, iri, model)

    if model.targets is not None:
        table = model.targets
        t = iri.part(table.annex)
        g.add((t, RDF.type, PKB.TargetTable))
        g.add((t, RDF.type, PKB.Annex))
        g.add((t, RDF.type, ELI.LegalResourceSubdivision))
        g.add((t, ELI.is_part_of, d))
        _zh_en(g, t, DCTERMS.title, table.title)
        g.add((t, PKB.targetYear, Literal(str(table.year), datatype=XSD.gYear)))
        g.add((t, PKB.countUnit, Literal(table.unit)))
        g.add((t, PKB.printedTotal, Literal(table.total)))
        for town in table.towns:
            w = iri.town(town.seq)
            g.add((w, RDF.type, PKB.Town))
            _zh_en(g, w, RDFS.label, Text(town.name, town.name_en or town.name))
            g.add((w, PKB.sequence, Literal(town.seq)))
            g.add((w, PKB.target, Literal(town.target)))
            g.add((w, PKB.targetYear, Literal(str(table.year), datatype=XSD.gYear)))
            g.add((w, PKB.inTable, t))
    return g


def _estimate(g: Graph, benefit: URIRef, estimate: Estimate) -> None:
    node = URIRef(f"{benefit}/estimate")
    g.add((benefit, PKB.hasEstimate, node))
    g.add((node, RDF.type, PKB.Estimate))
    g.add((node, PKB.estimateKind, Literal(estimate.kind)))
    _zh_en(g, node, RDFS.comment, estimate.note)
    for k, case in enumerate(estimate.cases, start=1):
        c = URIRef(f"{node}/{k}")
        g.add((node, PKB.hasCase, c))
        g.add((c, RDF.type, PKB.EstimateCase))
        g.add((c, PKB.order, Literal(k)))
        g.add((c, PKB.formula, Literal(case.formula_text)))
        g.add((c, PKB.sourceLine, Literal(case.location.line)))
        if case.when is not None:
            g.add((c, PKB.when, Literal(case.when.text)))


def _evaluation(g: Graph, iri: _Iris, model: PolicyModel) -> None:
    method = model.evaluation
    assert method is not None
    e = iri.make("evaluation", "tech-sme")
    g.add((e, RDF.type, PKB.EvaluationMethod))
    _zh_en(g, e, RDFS.label, method.label)
    if method.reference:
        _zh_en(g, e, PKB.reference, method.reference)
    if method.clause:
        g.add((e, PKB.relevantClause, iri.clause(method.clause)))
    if method.quote:
        g.add((e, PKB.quote, Literal(method.quote, lang="zh")))
    g.add((e, PKB.passScore, iri.parameter(method.pass_score)))
    g.add((e, PKB.sourceLine, Literal(method.location.line)))
    for prop, group in ((PKB.basicCondition, method.basic), (PKB.directRoute, method.direct)):
        for k, named in enumerate(group, start=1):
            node = iri.make("evaluation", "tech-sme", named.id)
            g.add((e, prop, node))
            g.add((node, DCTERMS.identifier, Literal(named.id)))
            _zh_en(g, node, SKOS.prefLabel, named.label)
            _Describe(g, iri, model).describe(node, named.condition, k)
    for k, indicator in enumerate(method.indicators, start=1):
        node = iri.make("evaluation", "tech-sme", "indicator", indicator.id)
        g.add((e, PKB.hasIndicator, node))
        g.add((node, RDF.type, PKB.Indicator))
        g.add((node, DCTERMS.identifier, Literal(indicator.id)))
        g.add((node, PKB.order, Literal(k)))
        g.add((node, PKB.maxPoints, Literal(indicator.max_points)))
        _zh_en(g, node, SKOS.prefLabel, indicator.label)
        if indicator.id in method.nonzero:
            g.add((e, PKB.mustNotScoreZero, node))
        for j, source in enumerate(indicator.parts, start=1):
            s = URIRef(f"{node}/{j}")
            g.add((node, PKB.scoreSource, s))
            g.add((s, RDF.type, PKB.ScoreSource))
            g.add((s, PKB.order, Literal(j)))
            g.add((s, PKB.numerator, iri.fact(str(source.numerator))))
            if source.denominator:
                g.add((s, PKB.denominator, iri.fact(str(source.denominator))))
            g.add((s, PKB.scoreTable, iri.parameter(source.table)))


def _facts(g: Graph, iri: _Iris, model: PolicyModel) -> None:
    for fact in model.facts.values():
        f = iri.fact(fact.id)
        g.add((f, RDF.type, PKB.ProfileFact))
        g.add((f, DCTERMS.identifier, Literal(fact.id)))
        _zh_en(g, f, SKOS.prefLabel, fact.label)
        g.add((f, PKB.factType, Literal(fact.type.value)))
        if fact.unit:
            g.add((f, PKB.unit, Literal(fact.unit)))
        if fact.group:
            g.add((f, PKB.formGroup, Literal(fact.group, lang="zh")))
    for derived in model.derived.values():
        f = iri.fact(derived.id)
        g.add((f, RDF.type, PKB.DerivedFact))
        g.add((f, DCTERMS.identifier, Literal(derived.id)))
        _zh_en(g, f, SKOS.prefLabel, derived.label)
        g.add((f, PKB.factType, Literal(derived.type.value)))
        g.add((f, PKB.formula, Literal(derived.formula_text)))
        if derived.unit:
            g.add((f, PKB.unit, Literal(derived.unit)))
        for name in derived.inputs:
            g.add((f, PKB.derivedFrom, iri.fact(name)))


def _evidence(g: Graph, iri: _Iris, model: PolicyModel) -> None:
    """CCCEV 2: each evidence type (its holder as the publisher, whether the government holds it,
    the facts it proves) and, per benefit, the evidence type list of the facts its rule reads."""
    governments = {k.holder for k in model.evidence if k.held is True}
    for holder in model.holders.values():
        h = iri.make("holder", holder.id)
        g.add((h, RDF.type, CV.PublicOrganisation if holder.id in governments else DCTERMS.Agent))
        g.add((h, DCTERMS.identifier, Literal(holder.id)))
        _zh_en(g, h, SKOS.prefLabel, holder.label)
    for kind in model.evidence:
        e = iri.make("evidence", kind.id)
        g.add((e, RDF.type, CV.EvidenceType))
        g.add((e, DCTERMS.identifier, Literal(kind.id)))
        _zh_en(g, e, SKOS.prefLabel, kind.label)
        g.add((e, DCTERMS.publisher, iri.make("holder", kind.holder)))
        g.add((e, DCTERMS.source, Literal(kind.source, lang="zh")))
        if kind.held is not None:
            g.add((e, PKB.heldByGovernment, Literal(kind.held)))
        for fact in kind.proves:
            g.add((e, PKB.provesFact, iri.fact(fact)))
    categories = {k: c.condition for k, c in model.categories.items()}
    derived = {k: d.formula for k, d in model.derived.items()}
    for benefit in model.benefits.values():
        criterion = iri.criterion(iri.benefit(benefit.id))
        read = facts_in(benefit.condition, categories, derived)
        facts = [name for name in read if name in model.facts]  # derived: their inputs are read
        listed = URIRef(f"{criterion}/evidence")
        g.add((listed, RDF.type, CV.EvidenceTypeList))
        _zh_en(
            g,
            listed,
            SKOS.prefLabel,
            Text(f"{benefit.title.zh}：证明材料", f"{benefit.title.en}: evidence"),
        )
        g.add((criterion, CV.hasEvidenceTypeList, listed))
        for fact in dict.fromkeys(facts):
            g.add((criterion, CV.hasConcept, iri.fact(fact)))
        for kind in model.evidence:
            if set(kind.proves) & set(facts):
                g.add((listed, CV.specifiesEvidenceType, iri.make("evidence", kind.id)))


def _parameters(g: Graph, iri: _Iris, model: PolicyModel) -> None:
    for param in model.parameters.values():
        p = iri.parameter(param.id)
        g.add((p, RDF.type, PKB.Parameter))
        g.add((p, DCTERMS.identifier, Literal(param.id)))
        _zh_en(g, p, SKOS.prefLabel, param.label)
        g.add((p, PKB.unit, Literal(param.unit)))
        if param.clause:
            g.add((p, PKB.relevantClause, iri.clause(param.clause)))
        if param.quote:
            g.add((p, PKB.quote, Literal(param.quote, lang="zh")))
        if param.reference:
            _zh_en(g, p, PKB.reference, param.reference)
        for value in param.values:
            v = URIRef(f"{p}/{value.start.isoformat()}")
            g.add((p, PKB.hasValue, v))
            g.add((v, RDF.type, PKB.ParameterValue))
            if value.value is not None:
                g.add((v, RDF.value, _number(value.value)))
            for k, tier in enumerate(value.tiers, start=1):
                t = URIRef(f"{v}/tier/{k}")
                g.add((v, PKB.hasTier, t))
                g.add((t, RDF.type, PKB.ScoreTier))
                g.add((t, PKB.order, Literal(k)))
                g.add((t, PKB.atLeast, _number(tier.at_least)))
                g.add((t, PKB.points, Literal(tier.points)))
            g.add((v, PKB.validFrom, Literal(value.start)))
            if value.end:
                g.add((v, PKB.validUntil, Literal(value.end)))
            if value.reference:
                _zh_en(g, v, PKB.reference, value.reference)


class _Describe(Visitor[None]):
    """The RDF back-end: each condition node as a criterion (a group) or a condition (a leaf)."""

    memoise = False

    def __init__(self, g: Graph, iri: _Iris, model: PolicyModel) -> None:
        super().__init__()
        self.g, self.iri, self.model = g, iri, model
        self.node = URIRef("")

    def describe(self, node: URIRef, cond: Condition, order: int | None) -> None:
        if order is not None:
            self.g.add((node, PKB.order, Literal(order)))
        self.g.add((node, PKB.sourceLine, Literal(cond.location.line)))
        self.node = node
        self.visit(cond)

    def parts(self, node: URIRef, cond: AllOf | AnyOf | NotOf) -> None:
        """A group's combination word and its ordered parts, as ``node/1``, ``node/2`` …"""
        self.g.add((node, PKB.combination, Literal(cond.text)))
        for i, part in enumerate(cond.children(), start=1):
            child = URIRef(f"{node}/{i}")
            self.g.add((node, PKB.hasPart, child))
            assert isinstance(part, Condition)
            self.describe(child, part, i)

    def _group(self, cond: AllOf | AnyOf | NotOf) -> None:
        node = self.node
        self.g.add((node, RDF.type, PKB.EligibilityCriterion))
        self.parts(node, cond)

    all_of = any_of = not_of = _group

    def category_ref(self, cond: CategoryRef) -> None:
        g, node = self.g, self.node
        g.add((node, PKB.expression, Literal(cond.text)))
        g.add((node, RDF.type, PKB.EligibilityCriterion))
        g.add((node, PKB.refersToCategory, self.iri.category(cond.category)))

    def flag(self, cond: Flag) -> None:
        g, node = self.g, self.node
        g.add((node, PKB.expression, Literal(cond.text)))
        g.add((node, RDF.type, PKB.Condition))
        g.add((node, PKB.operator, Literal("is")))
        g.add((node, PKB.expectedValue, Literal(cond.expected)))
        g.add((node, CV.constrains, self.iri.fact(cond.fact)))

    def comparison(self, cond: Comparison) -> None:
        g, node, model = self.g, self.node, self.model
        g.add((node, PKB.expression, Literal(cond.text)))
        g.add((node, RDF.type, PKB.Condition))
        g.add((node, PKB.operator, Literal(cond.op)))
        for name in dict.fromkeys((*facts_in(cond.left), *facts_in(cond.right))):
            g.add((node, CV.constrains, self.iri.fact(name)))
        unit = model.fact_unit(next(iter(facts_in(cond.left) or facts_in(cond.right)), ""))
        if unit:
            g.add((node, PKB.unit, Literal(unit)))
        for name in cond.parameters():
            g.add((node, PKB.thresholdParameter, self.iri.parameter(name)))
            value = model.parameters[name].value_for_year(model.document.year)
            if value is not None and len(cond.parameters()) == 1:
                g.add((node, PKB.thresholdValue, _number(value.value)))


class _Iris:
    """The IRIs of the ABox, all under the document's base IRI."""

    def __init__(self, base: str) -> None:
        self.base = base

    def make(self, *segments: str) -> URIRef:
        return URIRef(self.base + "/".join(segments))

    def document(self) -> URIRef:
        return self.make("document")

    def part(self, number: str) -> URIRef:
        return self.make("part", _slug(number))

    def clause(self, number: str) -> URIRef:
        return self.make("clause", _slug(number))

    def measure(self, measure_id: str) -> URIRef:
        return self.make("measure", measure_id)

    def benefit(self, benefit_id: str) -> URIRef:
        return self.make("benefit", benefit_id)

    def criterion(self, owner: URIRef) -> URIRef:
        return URIRef(f"{owner}/criterion")

    def category(self, name: str) -> URIRef:
        return self.make("category", name)

    def fact(self, name: str) -> URIRef:
        return self.make("fact", name)

    def parameter(self, name: str) -> URIRef:
        return self.make("parameter", name)

    def town(self, seq: int) -> URIRef:
        return self.make("town", str(seq))


def merged(abox: Graph) -> Graph:
    """The hand-written ontology plus the generated instances, for SPARQL."""
    graph = load_tbox()
    for triple in abox:
        graph.add(triple)
    for prefix, ns in abox.namespaces():
        graph.bind(prefix, ns, override=False)
    return graph


_FORMATS = {
    "turtle": "turtle",
    "ttl": "turtle",
    "json-ld": "json-ld",
    "jsonld": "json-ld",
    "nt": "nt",
    "xml": "xml",
}


def serialize(graph: Graph, fmt: str, base: str) -> str:
    """The graph as Turtle, JSON-LD, N-Triples or RDF/XML text."""
    from ..errors import UnknownNameError
    from ..text import close_matches

    name = _FORMATS.get(fmt.lower())
    if name is None:
        raise UnknownNameError("export format", fmt, close_matches(fmt, _FORMATS))
    if name == "json-ld":
        context = {**PREFIXES, "wj": base}
        return graph.serialize(format="json-ld", context=context, indent=2, auto_compact=True)
    return graph.serialize(format=name)
