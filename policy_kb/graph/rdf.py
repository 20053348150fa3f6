"""The RDF back-end: the hand-written TBox plus an ABox generated from the model.

``build_abox`` turns a validated :class:`PolicyModel` into RDF with rdflib: the document and its
clauses (ELI), the measures and benefits (CPSV-AP), their eligibility criteria and conditions
(CCCEV with small local properties for operator and threshold), the profile facts, the dated
parameters and the 附件2 targets. No blank nodes are used, so the Turtle output is byte-for-byte
stable and the committed export can be compared with a fresh one.
"""

from __future__ import annotations

import hashlib
import urllib.parse
from datetime import date, datetime, time
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
from ..text import Msg, Text, from_chinese, label, plain
from ..version import __version__
from .vocab import CPSV, CV, DCTERMS, ELI, ONTOLOGY_IRI, OWL, PKB, PREFIXES, RDF, RDFS, SKOS

TBOX_FILE = "policy_kb.ttl"
#: the licence of the knowledge model (the project's); the policy text is an official document
LICENSE = "https://www.apache.org/licenses/LICENSE-2.0"
#: the EU authority table's code for Chinese, as ELI expects for eli:language
CHINESE = "http://publications.europa.eu/resource/authority/language/ZHO"

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
    found = from_chinese(numeral)
    return urllib.parse.quote(numeral) if found is None else found


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


def _day(day: date) -> Literal:
    """A day as the start of that day, ``xsd:dateTime``: OWL 2's datatype map (and so HermiT and
    Protégé) has no ``xsd:date``."""
    return Literal(datetime.combine(day, time()).isoformat(), datatype=XSD.dateTime)


def build_abox(model: PolicyModel) -> Graph:
    """The instances described by measures.yaml, as an rdflib graph."""
    base = model.document.iri
    g = Graph()
    _bind(g, base)
    iri = _Iris(base)
    doc = model.document

    # the ABox is an ontology of its own that imports the TBox (Protégé opens it with both)
    o = URIRef(base.rstrip("/"))
    g.add((o, RDF.type, OWL.Ontology))
    g.add((o, OWL.imports, URIRef(ONTOLOGY_IRI)))
    g.add((o, OWL.versionIRI, URIRef(f"{base}version/{model.sha256[:16]}")))
    g.add((o, OWL.versionInfo, Literal(f"policy_kb {__version__}")))
    g.add((o, DCTERMS.license, URIRef(LICENSE)))
    _zh_en(g, o, RDFS.label, label("rdf.ontology", title=doc.title))

    d = iri.document()
    g.add((d, RDF.type, PKB.PolicyDocument))
    g.add((d, RDF.type, ELI.LegalResource))
    g.add((d, DCTERMS.identifier, Literal(doc.id)))
    _zh_en(g, d, DCTERMS.title, doc.title)
    _zh_en(g, d, RDFS.label, doc.title)
    g.add((d, DCTERMS.issued, Literal(doc.year)))
    g.add((d, PKB.sourceFile, Literal(doc.source_file)))
    issuer = iri.make("organisation", "issuer")
    g.add((issuer, RDF.type, CV.PublicOrganisation))
    _zh_en(g, issuer, RDFS.label, doc.issuer)
    _zh_en(g, issuer, SKOS.prefLabel, doc.issuer)
    g.add((d, DCTERMS.publisher, issuer))
    # ELI: the work is realised by one expression, the Chinese text, with its title
    x = iri.make("document", "zh")
    g.add((x, RDF.type, ELI.LegalExpression))
    g.add((d, ELI.is_realized_by, x))
    g.add((x, ELI.realizes, d))
    g.add((x, ELI.title, Literal(doc.title.zh, lang="zh")))
    g.add((x, ELI.language, URIRef(CHINESE)))
    _zh_en(g, x, RDFS.label, label("rdf.expression", title=doc.title))

    for part in doc.parts:
        p = iri.part(part.number)
        g.add((p, RDF.type, PKB.Annex if part.number.startswith("附件") else PKB.Part))
        g.add((p, RDF.type, ELI.LegalResourceSubdivision))
        g.add((p, ELI.is_part_of, d))
        g.add((d, ELI.has_part, p))
        g.add((p, PKB.number, Literal(part.number)))
        g.add((p, PKB.heading, Literal(part.heading, lang="zh")))
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
        g.add((iri.part(measure.part), ELI.has_part, clause))
        g.add((clause, PKB.number, Literal(measure.number)))
        _zh_en(g, clause, RDFS.label, label("rdf.clause", number=measure.number))
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
        g.add((m, CV.hasCompetentAuthority, issuer))
        # the clause text; in English only where measures.yaml gives a reading (not the title again)
        g.add((m, DCTERMS.description, Literal(measure.text, lang="zh")))
        if measure.reading is not None and measure.reading.en:
            g.add((m, DCTERMS.description, Literal(measure.reading.en, lang="en")))
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
            # CPSV-AP: the public service holds the requirement; the benefit names its own
            g.add((m, CV.holdsRequirement, top))
            g.add((b, PKB.eligibilityCriterion, top))
            g.add((top, RDF.type, CV.Requirement))
            _zh_en(
                g,
                top,
                RDFS.label,
                label("rdf.eligibility", title=benefit.title),
            )
            _Describe(g, iri, model).describe(top, benefit.condition, None)
            for other in benefit.not_combinable_with:
                g.add((b, PKB.notCombinableWith, iri.benefit(other)))
            if benefit.estimate is not None:
                _estimate(g, b, benefit.estimate, benefit.title)

    if model.evaluation is not None:
        _evaluation(g, iri, model)

    if model.targets is not None:
        table = model.targets
        t = iri.part(table.annex)
        g.add((t, RDF.type, PKB.TargetTable))
        g.add((t, RDF.type, PKB.Annex))
        g.add((t, RDF.type, ELI.LegalResourceSubdivision))
        g.add((t, ELI.is_part_of, d))
        g.add((d, ELI.has_part, t))
        _zh_en(g, t, DCTERMS.title, table.title)
        _zh_en(g, t, RDFS.label, table.title)
        g.add((t, PKB.targetYear, Literal(table.year)))
        g.add((t, PKB.countUnit, Literal(table.unit)))
        g.add((t, PKB.printedTotal, Literal(table.total)))
        for town in table.towns:
            w = iri.town(town.seq)
            g.add((w, RDF.type, PKB.Town))
            _zh_en(g, w, RDFS.label, Text(town.name, town.name_en or town.name))
            g.add((w, PKB.sequence, Literal(town.seq)))
            g.add((w, PKB.target, Literal(town.target)))
            g.add((w, PKB.targetYear, Literal(table.year)))
            g.add((w, PKB.inTable, t))
    return g


def _estimate(g: Graph, benefit: URIRef, estimate: Estimate, title: Text) -> None:
    node = URIRef(f"{benefit}/estimate")
    g.add((benefit, PKB.hasEstimate, node))
    g.add((node, RDF.type, PKB.Estimate))
    _zh_en(g, node, RDFS.label, label("rdf.estimate", title=title))
    g.add((node, PKB.estimateKind, Literal(estimate.kind)))
    _zh_en(g, node, RDFS.comment, estimate.note)
    for k, case in enumerate(estimate.cases, start=1):
        c = URIRef(f"{node}/{k}")
        g.add((node, PKB.hasCase, c))
        g.add((c, RDF.type, PKB.EstimateCase))
        g.add((c, PKB.order, Literal(k)))
        g.add((c, PKB.formula, Literal(case.formula_text)))
        g.add((c, RDFS.label, Literal(case.formula_text)))
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
            ratio = str(source.numerator) + (
                f" / {source.denominator}" if source.denominator else ""
            )
            g.add((s, RDFS.label, Literal(f"{ratio} → {source.table}")))
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
            label("rdf.evidence", title=benefit.title),
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
            since = value.start.isoformat()
            _zh_en(
                g,
                v,
                RDFS.label,
                label("rdf.value_since", label=param.label, since=since),
            )
            if value.value is not None:
                g.add((v, PKB.numericValue, _number(value.value)))
            for k, tier in enumerate(value.tiers, start=1):
                t = URIRef(f"{v}/tier/{k}")
                g.add((v, PKB.hasTier, t))
                g.add((t, RDF.type, PKB.ScoreTier))
                g.add((t, RDFS.label, Literal(f"≥ {plain(tier.at_least)} → {tier.points}")))
                g.add((t, PKB.order, Literal(k)))
                g.add((t, PKB.atLeast, _number(tier.at_least)))
                g.add((t, PKB.points, Literal(tier.points)))
            g.add((v, PKB.validFrom, _day(value.start)))
            if value.end:
                g.add((v, PKB.validUntil, _day(value.end)))
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
        if (node, RDFS.label, None) not in self.g:
            self.g.add((node, RDFS.label, Literal(_written(cond))))
        self.g.add((node, PKB.sourceLine, Literal(cond.location.line)))
        self.node = node
        self.visit(cond)

    def parts(self, node: URIRef, cond: AllOf | AnyOf | NotOf) -> None:
        """A group's combination word and its parts, in order (``pkb:order``), each at an IRI
        made from what it says (:func:`part_segment`), so reordering the parts keeps every IRI."""
        self.g.add((node, PKB.combination, Literal(cond.text)))
        seen: dict[str, int] = {}
        for i, part in enumerate(cond.children(), start=1):
            assert isinstance(part, Condition)
            segment = part_segment(part)
            seen[segment] = seen.get(segment, 0) + 1
            if seen[segment] > 1:  # the same condition twice in one group
                segment = f"{segment}-{seen[segment]}"
            child = URIRef(f"{node}/{segment}")
            self.g.add((node, PKB.hasPart, child))
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


def _fingerprint(cond: Condition) -> str:
    """What a condition says, whatever its position: the text of a leaf, a category's name, a
    group's kind with its parts'."""
    if isinstance(cond, CategoryRef):
        return "category:" + cond.category
    if cond.is_leaf:
        return cond.text
    inner = ",".join(_fingerprint(c) for c in cond.children() if isinstance(c, Condition))
    return f"{type(cond).__name__}({inner})"


def part_segment(cond: Condition) -> str:
    """The IRI segment of a part of a group: the category's or the fact's name where there is
    one, else a short hash of what the part says."""
    if isinstance(cond, CategoryRef):
        return cond.category
    if isinstance(cond, Flag):
        return cond.fact if cond.expected else "not-" + cond.fact
    digest = hashlib.sha256(_fingerprint(cond).encode("utf-8")).hexdigest()[:10]
    return ("c-" if cond.is_leaf else "g-") + digest


def _written(cond: Condition) -> str:
    """A condition as written, for its label (a group by its parts)."""
    if cond.is_leaf or isinstance(cond, CategoryRef):
        return cond.text
    parts = [_written(c) for c in cond.children() if isinstance(c, Condition)]
    return f"{cond.text}: " + "; ".join(parts)


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
    if name == "turtle":
        return graph.serialize(format="turtle")  # rdflib sorts subjects and predicates itself
    if name == "nt":  # one triple per line: sorted, the same bytes on every run
        lines = graph.serialize(format="nt").splitlines()
        return "\n".join(sorted(line for line in lines if line.strip())) + "\n"
    if name == "json-ld":
        return _json_ld(graph, base)
    return _rdf_xml(graph)


def json_ld_context(graph: Graph, base: str) -> dict[str, Any]:
    """A JSON-LD context with a term for every property and class the graph uses: the local
    name (``title``, ``hasPart``, ``PublicService``), prefixed where two vocabularies share one
    (``eli_title``); IRI-valued properties say ``"@type": "@id"``, so the document reads as plain
    JSON with IRIs as strings."""
    namespaces = {str(ns): prefix for prefix, ns in PREFIXES.items()}
    used: dict[str, bool] = {}  # property IRI → every value is an IRI
    classes: set[str] = set()
    for _, p, o in graph:
        key = str(p)
        if p == RDF.type:
            classes.add(str(o))
            continue
        used[key] = used.get(key, True) and not isinstance(o, Literal)
    locals_: dict[str, list[str]] = {}
    for iri in sorted({*used, *classes}):
        locals_.setdefault(_split(iri)[1], []).append(iri)
    context: dict[str, Any] = {**PREFIXES, "wj": base}
    for local, iris in sorted(locals_.items()):
        for iri in iris:
            ns, _ = _split(iri)
            term = local if len(iris) == 1 else f"{namespaces.get(ns, 'ns')}_{local}"
            if used.get(iri):
                context[term] = {"@id": iri, "@type": "@id"}
            else:
                context[term] = {"@id": iri}
    return context


def _split(iri: str) -> tuple[str, str]:
    cut = max(iri.rfind("#"), iri.rfind("/"))
    return iri[: cut + 1], iri[cut + 1 :]


def _json_ld(graph: Graph, base: str) -> str:
    """JSON-LD compacted with :func:`json_ld_context`, nodes sorted by ``@id`` and keys sorted:
    the same bytes on every run."""
    import json

    context = json_ld_context(graph, base)
    text = graph.serialize(format="json-ld", context=context, indent=None, auto_compact=True)
    data = json.loads(text)
    nodes = data.get("@graph", [])
    for node in nodes:
        for key, value in node.items():
            if isinstance(value, list):
                node[key] = sorted(value, key=lambda v: json.dumps(v, sort_keys=True))
    data["@graph"] = sorted(nodes, key=lambda n: str(n.get("@id", "")))
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def _rdf_xml(graph: Graph) -> str:
    """RDF/XML, one ``rdf:Description`` per subject, subjects and statements sorted (rdflib's
    own writers walk sets, whose order changes from run to run). The graph has no blank nodes."""
    from xml.sax.saxutils import escape, quoteattr

    prefixes = {str(ns): prefix for prefix, ns in PREFIXES.items()}
    extra: dict[str, str] = {}

    def qname(iri: str) -> str:
        ns, local = _split(iri)
        prefix = prefixes.get(ns) or extra.setdefault(ns, f"ns{len(extra) + 1}")
        return f"{prefix}:{local}"

    body: list[str] = []
    for subject in sorted(set(graph.subjects()), key=str):
        body.append(f"  <rdf:Description rdf:about={quoteattr(str(subject))}>")
        statements = sorted(
            graph.predicate_objects(subject), key=lambda po: (str(po[0]), _sort_key(po[1]))
        )
        for p, o in statements:
            tag = qname(str(p))
            if isinstance(o, Literal):
                attrs = ""
                if o.language:
                    attrs = f" xml:lang={quoteattr(o.language)}"
                elif o.datatype is not None:
                    attrs = f" rdf:datatype={quoteattr(str(o.datatype))}"
                body.append(f"    <{tag}{attrs}>{escape(str(o))}</{tag}>")
            else:
                body.append(f"    <{tag} rdf:resource={quoteattr(str(o))}/>")
        body.append("  </rdf:Description>")
    declared = {**dict(prefixes.items()), **dict(extra.items())}
    head = ['<?xml version="1.0" encoding="utf-8"?>', "<rdf:RDF"]
    head += [
        f"  xmlns:{p}={quoteattr(ns)}" for ns, p in sorted(declared.items(), key=lambda x: x[1])
    ]
    head[-1] += ">"
    return "\n".join([*head, *body, "</rdf:RDF>"]) + "\n"


def _sort_key(term: Any) -> tuple[str, str, str]:
    if isinstance(term, Literal):
        return ("2", str(term), f"{term.datatype or ''}@{term.language or ''}")
    return ("1", str(term), "")


def describe(graph: Graph, subject: URIRef) -> Graph:
    """What the graph says about ``subject`` (every statement with it as the subject), with the
    labels of the resources it points to: what dereferencing its IRI answers."""
    out = Graph()
    for prefix, namespace in graph.namespaces():
        out.bind(prefix, namespace, override=True)
    for p, o in graph.predicate_objects(subject):
        out.add((subject, p, o))
        if isinstance(o, URIRef):
            for label in (RDFS.label, SKOS.prefLabel):
                for text in graph.objects(o, label):
                    out.add((o, label, text))
    return out
