"""The knowledge graph: the committed export, SPARQL answers, vocabularies and JSON-LD."""

from __future__ import annotations

import json
from pathlib import Path

from rdflib import Graph, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import RDF

from policy_kb.graph.vocab import CPSV, CV, ELI, PKB

ROOT = Path(__file__).resolve().parent.parent
ABOX = ROOT / "ontology" / "wujin-tech-sme-2021.ttl"
TBOX = ROOT / "ontology" / "policy_kb.ttl"
PREFIXES = """
PREFIX pkb: <https://w3id.org/policy-kb/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX cpsv: <http://purl.org/vocab/cpsv#>
PREFIX cv: <http://data.europa.eu/m8g/>
PREFIX eli: <http://data.europa.eu/eli/ontology#>
"""


def committed() -> Graph:
    return Graph().parse(ABOX, format="turtle")


def test_committed_export_is_current(kb):
    fresh = kb.export("turtle")
    on_disk = ABOX.read_text(encoding="utf-8")
    expected = fresh if fresh.endswith("\n") else fresh + "\n"
    assert on_disk == expected, (
        "ontology/wujin-tech-sme-2021.ttl is out of date with measures.yaml: "
        "run `policy-kb export -o ontology/wujin-tech-sme-2021.ttl`"
    )
    assert isomorphic(committed(), kb.abox)


def test_sparql_counts_on_the_committed_turtle():
    g = committed()

    def count(cls):
        return int(
            next(iter(g.query(PREFIXES + f"SELECT (COUNT(?m) AS ?n) WHERE {{ ?m a {cls} }}")))[0]
        )

    assert count("pkb:KeyMeasure") == 9
    assert count("pkb:SafeguardMeasure") == 3
    assert count("pkb:Town") == 11
    ((total, printed),) = g.query(
        PREFIXES
        + """
        SELECT (SUM(?t) AS ?sum) ?printed WHERE { ?town a pkb:Town ; pkb:target ?t ; pkb:inTable ?table .
                                                  ?table pkb:printedTotal ?printed } GROUP BY ?printed"""
    )
    assert int(total) == int(printed) == 670


def test_measures_are_public_services_resting_on_their_clauses(kb):
    g = kb.graph
    rows = list(
        g.query(
            PREFIXES
            + """
        SELECT DISTINCT ?id ?number ?text WHERE {
            ?m a/rdfs:subClassOf* cpsv:PublicService ; dcterms:identifier ?id ;
               cv:hasLegalResource ?clause .
            ?clause pkb:number ?number ; pkb:verbatimText ?text ; eli:is_part_of/eli:is_part_of ?doc .
            ?doc a eli:LegalResource .
        } ORDER BY ?id"""
        )
    )
    assert len(rows) == 12
    numbers = {str(r[0]): str(r[1]) for r in rows}
    assert numbers["KM7"] == "三(七)"
    assert numbers["SM2"] == "四(二)"


def test_benefits_of_km7_with_clause_text(kb):
    rows = kb.query(
        PREFIXES
        + """
        SELECT ?benefit ?quote WHERE {
            ?m dcterms:identifier "KM7" ; cpsv:produces ?b .
            ?b dcterms:identifier ?benefit ; pkb:quote ?quote ; pkb:order ?o .
        } ORDER BY ?o"""
    )
    assert [r["benefit"] for r in rows] == ["KM7.rd_super_deduction", "KM7.rd_growth_reward"]
    assert "20万元（含）以上" in rows[1]["quote"]


def test_structural_helpers_use_the_graph(kb):
    assert [m["id"] for m in kb.measures_of_part("三")] == [f"KM{i}" for i in range(1, 10)]
    assert [m["id"] for m in kb.measures_of_part("四")] == ["SM1", "SM2", "SM3"]
    assert [b["id"] for b in kb.benefits_of("KM5")] == [
        "KM5.hnte_income_tax",
        "KM5.tech_transfer_tax",
        "KM5.small_low_profit_tax",
    ]
    towns = kb.town_targets()
    assert [t["name"] for t in towns][:3] == ["高新区", "西太湖", "湖塘镇"]
    assert sum(t["target"] for t in towns) == towns[0]["total"] == 670


def test_conditions_are_cccev_constraints_with_threshold(kb):
    g = kb.graph
    rows = list(
        g.query(
            PREFIXES
            + """
        SELECT ?op ?value ?factId WHERE {
            ?b dcterms:identifier "KM7.rd_growth_reward" ; pkb:eligibilityCriterion ?top .
            ?top pkb:hasPart ?c .
            ?c a pkb:Condition ; pkb:operator ?op ; pkb:thresholdValue ?value ; cv:constrains ?f .
            ?f a pkb:DerivedFact ; dcterms:identifier ?factId .
        }"""
        )
    )
    assert [(str(op), int(v), str(f)) for op, v, f in rows] == [(">=", 200000, "rd_expense_growth")]


def test_category_is_defined_once_and_referred_to(kb):
    g = kb.graph
    refs = list(
        g.query(
            PREFIXES
            + """
        SELECT DISTINCT ?benefit WHERE {
            ?b dcterms:identifier ?benefit ; pkb:eligibilityCriterion/pkb:hasPart*/pkb:refersToCategory ?cat .
            ?cat dcterms:identifier "registered_tech_sme" .
        } ORDER BY ?benefit"""
        )
    )
    assert [str(r[0]) for r in refs] == [
        "KM2.hnte_priority",
        "KM3.st_project_priority",
        "KM6.tech_credit",
        "KM7.rd_growth_reward",
        "KM7.rd_super_deduction",
        "KM8.rd_platform_support",
        "KM9.shared_facilities",
    ]


def test_every_pkb_term_is_declared_in_the_tbox_and_back():
    tbox = Graph().parse(TBOX, format="turtle")
    declared = {str(s) for s in tbox.subjects() if str(s).startswith(str(PKB._NS))}
    in_code = {str(PKB._NS) + name for name in PKB.__annotations__}
    assert declared == in_code


def test_external_terms_are_the_standard_iris():
    assert str(ELI.LegalResource) == "http://data.europa.eu/eli/ontology#LegalResource"
    assert str(ELI.is_part_of) == "http://data.europa.eu/eli/ontology#is_part_of"
    assert str(CPSV.PublicService) == "http://purl.org/vocab/cpsv#PublicService"
    assert str(CV.holdsRequirement) == "http://data.europa.eu/m8g/holdsRequirement"
    assert str(CV.InformationConcept) == "http://data.europa.eu/m8g/InformationConcept"


def test_json_ld_export_has_the_same_triples(kb):
    data = kb.export("json-ld")
    assert json.loads(data)["@context"]["pkb"] == str(PKB._NS)
    assert isomorphic(Graph().parse(data=data, format="json-ld"), kb.abox)


def test_every_kind_of_benefit_is_a_tbox_class(kb):
    tbox = Graph().parse(TBOX, format="turtle")
    kinds = {
        o
        for b in kb.abox.subjects(RDF.type, CV.Output)
        for o in kb.abox.objects(b, RDF.type)
        if o != CV.Output
    }
    for kind in kinds:
        assert (
            kind,
            URIRef("http://www.w3.org/2000/01/rdf-schema#subClassOf"),
            PKB.Benefit,
        ) in tbox
