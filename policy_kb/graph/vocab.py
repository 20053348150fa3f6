"""Every namespace policy_kb writes, in one place.

Each vocabulary is a ``DefinedNamespace`` with ``_fail = True``: a misspelt term raises
``AttributeError`` instead of quietly minting a new IRI. The terms of ``PKB`` are exactly those
declared in ``ontology/policy_kb.ttl`` (a test checks both ways).
"""

from __future__ import annotations

from rdflib import Namespace, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS, XSD, DefinedNamespace

__all__ = ["CPSV", "CV", "DCTERMS", "ELI", "OWL", "PKB", "PREFIXES", "RDF", "RDFS", "SKOS", "XSD"]

ONTOLOGY_IRI = "https://w3id.org/policy-kb/ontology"


class PKB(DefinedNamespace):
    """policy_kb's own terms (ontology/policy_kb.ttl)."""

    _NS = Namespace(ONTOLOGY_IRI + "#")
    _fail = True

    # classes
    PolicyDocument: URIRef
    Part: URIRef
    Clause: URIRef
    Annex: URIRef
    Measure: URIRef
    KeyMeasure: URIRef
    SafeguardMeasure: URIRef
    Benefit: URIRef
    TaxIncentive: URIRef
    CashReward: URIRef
    PrioritySupport: URIRef
    CreditProduct: URIRef
    Service: URIRef
    Guidance: URIRef
    AudienceScheme: URIRef
    EligibilityCriterion: URIRef
    Category: URIRef
    Condition: URIRef
    ProfileFact: URIRef
    DerivedFact: URIRef
    Enterprise: URIRef
    Parameter: URIRef
    ParameterValue: URIRef
    Town: URIRef
    TargetTable: URIRef
    ScoreTier: URIRef
    EvaluationMethod: URIRef
    Indicator: URIRef
    ScoreSource: URIRef
    Estimate: URIRef
    EstimateCase: URIRef
    # audiences (SKOS concepts)
    audience_enterprises: URIRef
    audience_towns_and_zones: URIRef
    audience_district_government: URIRef
    audience_service_providers: URIRef
    # properties
    number: URIRef
    heading: URIRef
    verbatimText: URIRef
    quote: URIRef
    citesClause: URIRef
    audience: URIRef
    reading: URIRef
    amountNote: URIRef
    sourceLine: URIRef
    sourceFile: URIRef
    eligibilityCriterion: URIRef
    combination: URIRef
    hasPart: URIRef
    order: URIRef
    refersToCategory: URIRef
    expression: URIRef
    operator: URIRef
    thresholdParameter: URIRef
    thresholdValue: URIRef
    expectedValue: URIRef
    unit: URIRef
    factType: URIRef
    formula: URIRef
    derivedFrom: URIRef
    provesFact: URIRef
    heldByGovernment: URIRef
    formGroup: URIRef
    hasValue: URIRef
    numericValue: URIRef
    validFrom: URIRef
    validUntil: URIRef
    reference: URIRef
    relevantClause: URIRef
    target: URIRef
    targetYear: URIRef
    sequence: URIRef
    inTable: URIRef
    printedTotal: URIRef
    countUnit: URIRef
    tracksTargetsOf: URIRef
    hasTier: URIRef
    atLeast: URIRef
    points: URIRef
    basicCondition: URIRef
    directRoute: URIRef
    hasIndicator: URIRef
    maxPoints: URIRef
    scoreSource: URIRef
    numerator: URIRef
    denominator: URIRef
    scoreTable: URIRef
    passScore: URIRef
    mustNotScoreZero: URIRef
    hasEstimate: URIRef
    estimateKind: URIRef
    hasCase: URIRef
    when: URIRef
    notCombinableWith: URIRef


class ELI(DefinedNamespace):
    """European Legislation Identifier ontology (the terms policy_kb uses)."""

    _NS = Namespace("http://data.europa.eu/eli/ontology#")
    _fail = True

    LegalResource: URIRef
    LegalResourceSubdivision: URIRef
    LegalExpression: URIRef
    is_part_of: URIRef
    has_part: URIRef
    is_realized_by: URIRef
    realizes: URIRef
    title: URIRef
    language: URIRef


class CPSV(DefinedNamespace):
    """Core Public Service Vocabulary (the terms policy_kb uses)."""

    _NS = Namespace("http://purl.org/vocab/cpsv#")
    _fail = True

    PublicService: URIRef
    produces: URIRef


class CV(DefinedNamespace):
    """CPSV-AP 3 / CCCEV 2 core vocabulary namespace (the terms policy_kb uses)."""

    _NS = Namespace("http://data.europa.eu/m8g/")
    _fail = True

    Output: URIRef
    Requirement: URIRef
    Criterion: URIRef
    Constraint: URIRef
    InformationConcept: URIRef
    holdsRequirement: URIRef
    hasLegalResource: URIRef
    constrains: URIRef
    # CCCEV 2 evidence, CPSV-AP 3 organisations
    EvidenceType: URIRef
    EvidenceTypeList: URIRef
    hasEvidenceTypeList: URIRef
    specifiesEvidenceType: URIRef
    hasConcept: URIRef
    PublicOrganisation: URIRef
    hasCompetentAuthority: URIRef


PREFIXES: dict[str, str] = {
    "pkb": str(PKB._NS),
    "eli": str(ELI._NS),
    "cpsv": str(CPSV._NS),
    "cv": str(CV._NS),
    "skos": str(SKOS),
    "dcterms": str(DCTERMS),
    "owl": str(OWL),
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "xsd": str(XSD),
}
